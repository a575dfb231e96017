"""logalert: alerting on logs stored in Elasticsearch or OpenSearch, with ElastAlert rule files."""

__version__ = "0.1.0"
