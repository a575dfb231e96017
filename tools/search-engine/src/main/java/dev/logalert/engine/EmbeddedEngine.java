package dev.logalert.engine;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A single-node OpenSearch started inside this JVM from Maven Central jars.
 *
 * <p>The version-specific part (Node constructor, plugin class names) is in
 * {@code VersionedNode}, one per major version under src/os2/java and src/os3/java.
 *
 * <p>It is a test engine for logalert's integration suite, not a production
 * server: no bootstrap checks, no security manager, bound to 127.0.0.1 only.
 *
 * <p>Usage: {@code java -cp 'target/classes:target/dependency/*'
 * dev.logalert.engine.EmbeddedEngine --home DIR [--port N] [--cluster-name NAME]}.
 * The port falls back to {@code $LOGALERT_ENGINE_PORT}, then 9200; the home to
 * {@code $LOGALERT_ENGINE_HOME}.
 */
public final class EmbeddedEngine {

    /** Plugins loaded from the classpath; each one is required (they differ between 2.x and 3.x). */
    static final List<String> PLUGIN_CLASSES = VersionedNode.PLUGIN_CLASSES;

    private EmbeddedEngine() {
    }

    public static void main(String[] args) {
        String home = System.getenv("LOGALERT_ENGINE_HOME");
        String port = System.getenv("LOGALERT_ENGINE_PORT");
        String clusterName = "logalert-test";
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (i + 1 >= args.length && arg.startsWith("--")) {
                die("missing value for " + arg, 64);
            }
            switch (arg) {
                case "--home":
                    home = args[++i];
                    break;
                case "--port":
                    port = args[++i];
                    break;
                case "--cluster-name":
                    clusterName = args[++i];
                    break;
                default:
                    die("unknown argument: " + arg
                        + " (usage: --home DIR [--port N] [--cluster-name NAME])", 64);
            }
        }
        if (home == null || home.isBlank()) {
            die("no home directory: pass --home DIR or set LOGALERT_ENGINE_HOME", 64);
        }
        if (port == null || port.isBlank()) {
            port = "9200";
        }
        try {
            int p = Integer.parseInt(port.trim());
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            die("invalid HTTP port: " + port, 64);
        }

        Path homePath = Paths.get(home).toAbsolutePath().normalize();
        // The log4j2.xml on the classpath writes to ${sys:logalert.engine.home}/logs.
        if (System.getProperty("logalert.engine.home") == null) {
            System.setProperty("logalert.engine.home", homePath.toString());
        }

        List<Class<? extends Plugin>> plugins = loadPlugins();

        try {
            for (String dir : new String[] {"config", "data", "logs", "modules", "plugins"}) {
                Files.createDirectories(homePath.resolve(dir));
            }
        } catch (IOException e) {
            die("cannot create engine directories under " + homePath + ": " + e, 1);
        }

        Settings settings = Settings.builder()
            .put("path.home", homePath.toString())
            .put("path.data", homePath.resolve("data").toString())
            .put("path.logs", homePath.resolve("logs").toString())
            .put("cluster.name", clusterName)
            .put("node.name", "logalert-engine")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port.trim())
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false)
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), homePath.resolve("config"), () -> "logalert-engine");

        final Node node;
        try {
            node = VersionedNode.create(environment, plugins);
            node.start();
        } catch (Throwable t) {
            System.err.println("FATAL: OpenSearch node failed to start: " + t);
            t.printStackTrace(System.err);
            System.exit(1);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(15, TimeUnit.SECONDS);
            } catch (Throwable t) {
                System.err.println("WARN: error while closing the node: " + t);
            } finally {
                stopped.countDown();
            }
        }, "logalert-engine-shutdown"));

        System.out.println("logalert engine: OpenSearch " + org.opensearch.Version.CURRENT
            + " listening on http://127.0.0.1:" + port.trim() + " (home " + homePath + ")");
        System.out.flush();

        // All node threads are daemons: keep the JVM alive until a signal arrives.
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static List<Class<? extends Plugin>> loadPlugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String name : PLUGIN_CLASSES) {
            try {
                Class<?> cls = Class.forName(name, false, EmbeddedEngine.class.getClassLoader());
                if (!Plugin.class.isAssignableFrom(cls)) {
                    die("class " + name + " is not an OpenSearch Plugin", 2);
                }
                plugins.add(cls.asSubclass(Plugin.class));
            } catch (ClassNotFoundException | LinkageError e) {
                missing.add(name + " (" + e + ")");
            }
        }
        if (!missing.isEmpty()) {
            die("required plugin class(es) missing from the classpath: " + String.join(", ", missing)
                + ". Rebuild with: tools/search-engine/engine.sh up (it runs mvn package).", 2);
        }
        return plugins;
    }

    private static void die(String message, int code) {
        System.err.println("FATAL: " + message);
        System.exit(code);
    }
}
