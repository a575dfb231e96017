package org.elasticsearch.plugins;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;

import org.elasticsearch.jdk.ModuleQualifiedExportsService;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Elasticsearch 8.17 flavour: no modules or plugins dirs are scanned (null paths), and the given
 * plugin classes are instantiated from the application class path.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Environment environment, List<Class<? extends Plugin>> pluginClasses) {
        super(settings, environment.configFile(), null, null);
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : pluginClasses) {
            PluginDescriptor descriptor = new PluginDescriptor(
                pluginClass.getName(),
                "classpath plugin " + pluginClass.getSimpleName(),
                "NA",
                org.elasticsearch.Build.current().version(),
                Runtime.version().feature() + "",
                pluginClass.getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            Plugin instance = loadPlugin(pluginClass, settings, environment.configFile());
            loaded.add(new LoadedPlugin(descriptor, instance));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    /** The server is not a named module on a plain class path, so there are no qualified exports to register. */
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> qualifiedExports) {
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }
}
