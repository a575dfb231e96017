package logalert.esengine;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.EmbeddedNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Starts a single Elasticsearch node in this JVM.
 * Usage: EngineMain HOME_DIR HTTP_PORT
 */
public final class EngineMain {

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: EngineMain HOME_DIR HTTP_PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int httpPort = Integer.parseInt(args[1]);
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "logalert-es")
            .put("node.name", "logalert-es")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "19300-19400")
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false)
            .build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);

        List<Class<? extends Plugin>> plugins = List.of(Netty4Plugin.class, RootInfoPlugin.class);
        Node node = new EmbeddedNode(new Environment(settings, config), plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "engine-shutdown"));
        node.start();
        System.out.println("logalert elasticsearch engine started on http://127.0.0.1:" + httpPort);
        stopped.await();
    }
}
