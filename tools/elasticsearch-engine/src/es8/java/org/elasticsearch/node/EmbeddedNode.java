package org.elasticsearch.node;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;

import java.util.List;

/**
 * Elasticsearch 8.17 flavour of the class-path node: 8.x has no PluginsLoader, and
 * NodeServiceProvider.newPluginService takes (Environment, Settings). Package-private API,
 * hence this package.
 */
public class EmbeddedNode extends Node {

    public EmbeddedNode(Environment environment, List<Class<? extends Plugin>> pluginClasses) {
        super(
            NodeConstruction.prepareConstruction(
                environment,
                new NodeServiceProvider() {
                    @Override
                    PluginsService newPluginService(Environment env, Settings settings) {
                        return new ClasspathPluginsService(settings, env, pluginClasses);
                    }
                },
                true
            )
        );
    }
}
