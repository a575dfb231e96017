package dev.logalert.engine;

import org.opensearch.cluster.service.ClusterService;
import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

import java.util.Collection;
import java.util.List;

/**
 * The OpenSearch 2.x part of the engine: 2.x takes plugin classes in the protected
 * Node constructor, and its module plugins are named *Plugin.
 */
final class VersionedNode {

    /** Plugins loaded from the classpath; each one is required. */
    static final List<String> PLUGIN_CLASSES = List.of(
        "org.opensearch.transport.Netty4Plugin",              // HTTP + transport (netty4)
        "org.opensearch.painless.PainlessPlugin",             // painless scripts
        "org.opensearch.analysis.common.CommonAnalysisPlugin", // standard analyzers/filters
        "org.opensearch.index.mapper.MapperExtrasPlugin",     // scaled_float, token_count, ...
        "org.opensearch.index.reindex.ReindexPlugin"          // _delete_by_query, _reindex
    );

    private VersionedNode() {
    }

    static Node create(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        return new ClasspathNode(environment, plugins);
    }

    /** Makes the protected plugin-taking constructor of {@link Node} reachable. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // Embedded: skip the listener that feeds node/cluster ids into the log4j pattern.
        }
    }
}
