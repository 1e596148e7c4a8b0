package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.config.MeshSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -cp ... io.shopmesh.mesh.istiod.IstiodMain --config-dir DIR --bind 127.0.0.1
 * --xds-port 15010 --http-port 15014}.
 */
public final class IstiodMain {

  private IstiodMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = null;
    Path registryFile = null;
    Path meshConfig = null;
    String bind = "127.0.0.1";
    int xdsPort = 15010;
    int httpPort = 15014;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        v = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      switch (a) {
        case "--config-dir" -> dir = Path.of(v != null ? v : args[++i]);
        case "--registry-file" -> registryFile = Path.of(v != null ? v : args[++i]);
        case "--mesh-config" -> meshConfig = Path.of(v != null ? v : args[++i]);
        case "--bind" -> bind = v != null ? v : args[++i];
        case "--xds-port" -> xdsPort = Integer.parseInt(v != null ? v : args[++i]);
        case "--http-port" -> httpPort = Integer.parseInt(v != null ? v : args[++i]);
        case "-h", "--help" -> {
          System.out.println(
              "usage: IstiodMain --config-dir DIR [--bind 127.0.0.1] [--xds-port 15010] [--http-port 15014]"
                  + " [--registry-file FILE] [--mesh-config FILE]");
          return;
        }
        default -> {
          System.err.println("unknown flag: " + args[i]);
          System.exit(2);
        }
      }
    }
    if (dir == null) {
      String env = System.getenv("CONFIG_DIR");
      if (env == null) {
        System.err.println("--config-dir is required");
        System.exit(2);
      }
      dir = Path.of(env);
    }
    if (!Files.isDirectory(dir)) {
      System.err.println("not a directory: " + dir);
      System.exit(2);
    }
    System.setProperty(
        "java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s %5$s%6$s%n");
    if (registryFile == null && System.getenv("REGISTRY_FILE") != null) {
      registryFile = Path.of(System.getenv("REGISTRY_FILE"));
    }
    if (meshConfig == null && System.getenv("MESH_CONFIG") != null) {
      meshConfig = Path.of(System.getenv("MESH_CONFIG"));
    }
    MeshSettings mesh = meshConfig == null ? MeshSettings.DEFAULT : MeshSettings.load(meshConfig);
    Istiod istiod =
        new Istiod(
                new DirectoryConfigSource(dir), registryFile, System.getenv("REGISTRY_JSON"), mesh)
            .start(bind, xdsPort, httpPort);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  istiod.close();
                  done.countDown();
                },
                "istiod-shutdown"));
    done.await();
  }
}
