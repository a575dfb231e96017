package dev.logalert.engine;

import org.opensearch.Version;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginInfo;

import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The OpenSearch 3.x part of the engine: 3.x takes {@link PluginInfo} descriptors (the plugin
 * service loads each class by name from the class path) and its module plugins are named
 * *ModulePlugin.
 */
final class VersionedNode {

    /** Plugins loaded from the classpath; each one is required. */
    static final List<String> PLUGIN_CLASSES = List.of(
        "org.opensearch.transport.Netty4ModulePlugin",              // HTTP + transport (netty4)
        "org.opensearch.painless.PainlessModulePlugin",             // painless scripts
        "org.opensearch.analysis.common.CommonAnalysisModulePlugin", // standard analyzers/filters
        "org.opensearch.index.mapper.MapperExtrasModulePlugin",     // scaled_float, token_count, ...
        "org.opensearch.index.reindex.ReindexModulePlugin"          // _delete_by_query, _reindex
    );

    private VersionedNode() {
    }

    static Node create(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        List<PluginInfo> infos = plugins.stream()
            .map(p -> new PluginInfo(p.getName(), "classpath plugin", "NA", Version.CURRENT,
                Integer.toString(Runtime.version().feature()), p.getName(), null, List.of(), false))
            .collect(Collectors.toList());
        return new ClasspathNode(environment, infos);
    }

    /** Makes the protected plugin-taking constructor of {@link Node} reachable. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<PluginInfo> plugins) {
            super(environment, plugins, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // Embedded: skip the listener that feeds node/cluster ids into the log4j pattern.
        }
    }
}
