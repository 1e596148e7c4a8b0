package io.shopmesh.mesh.istiod;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.istiod.ca.IstioCa;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import io.shopmesh.mesh.istiod.webhook.AdmissionWebhooks;
import io.shopmesh.mesh.istiod.webhook.CaBundlePatcher;
import io.shopmesh.mesh.istiod.webhook.WebhookCertificates;
import io.shopmesh.mesh.istiod.webhook.WebhookServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -cp ... io.shopmesh.mesh.istiod.IstiodMain --config-dir DIR --bind 127.0.0.1
 * --xds-port 15010 --http-port 15014}, or {@code --config-source kubernetes [--namespace NS]}: the
 * config and the registry from the Kubernetes API (in-cluster config or the kubeconfig, as fabric8
 * finds them).
 */
public final class IstiodMain {

  private IstiodMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = null;
    Path registryFile = null;
    String configSource = System.getenv("CONFIG_SOURCE");
    String namespace = null;
    long resyncMillis = KUBE_RESYNC_MS;
    Path meshConfig = null;
    String bind = "127.0.0.1";
    int xdsPort = 15010;
    int httpPort = 15014;
    int webhookPort = 0;
    Path caDir = null;
    Duration certTtl = IstioCa.DEFAULT_WORKLOAD_TTL;
    String applyToken = System.getenv("ISTIOD_APPLY_TOKEN");
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
        case "--config-source" -> configSource = v != null ? v : args[++i];
        case "--namespace" -> namespace = v != null ? v : args[++i];
        case "--resync-seconds" -> resyncMillis = 1000L * Long.parseLong(v != null ? v : args[++i]);
        case "--mesh-config" -> meshConfig = Path.of(v != null ? v : args[++i]);
        case "--bind" -> bind = v != null ? v : args[++i];
        case "--xds-port" -> xdsPort = Integer.parseInt(v != null ? v : args[++i]);
        case "--http-port" -> httpPort = Integer.parseInt(v != null ? v : args[++i]);
        case "--webhook-port" -> webhookPort = Integer.parseInt(v != null ? v : args[++i]);
        case "--ca-dir" -> caDir = Path.of(v != null ? v : args[++i]);
        case "--workload-cert-ttl" -> certTtl = ttl(v != null ? v : args[++i]);
        case "--apply-token-file" ->
            applyToken = Files.readString(Path.of(v != null ? v : args[++i])).trim();
        case "-h", "--help" -> {
          System.out.println(
              "usage: IstiodMain (--config-dir DIR [--registry-file FILE] | --config-source kubernetes"
                  + " [--namespace NS] [--resync-seconds 60]) [--bind 127.0.0.1] [--xds-port 15010]"
                  + " [--http-port 15014] [--mesh-config FILE]"
                  + " [--webhook-port 15017 (kubernetes: validation and injection)]"
                  + " [--ca-dir DIR (cacerts: ca-cert.pem, ca-key.pem, root-cert.pem,"
                  + " cert-chain.pem; a self-signed root is created there when absent)]"
                  + " [--workload-cert-ttl 24h]"
                  + " [--apply-token-file FILE (POST /apply needs it as a bearer token)]");
          return;
        }
        default -> {
          System.err.println("unknown flag: " + args[i]);
          System.exit(2);
        }
      }
    }
    System.setProperty(
        "java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s %5$s%6$s%n");
    if (meshConfig == null && System.getenv("MESH_CONFIG") != null) {
      meshConfig = Path.of(System.getenv("MESH_CONFIG"));
    }
    if (caDir == null && System.getenv("CA_DIR") != null) {
      caDir = Path.of(System.getenv("CA_DIR"));
    }
    if (System.getenv("DEFAULT_WORKLOAD_CERT_TTL") != null) {
      certTtl = ttl(System.getenv("DEFAULT_WORKLOAD_CERT_TTL"));
    }
    MeshSettings mesh = meshConfig == null ? MeshSettings.DEFAULT : MeshSettings.load(meshConfig);
    if ("kubernetes".equals(configSource)) {
      if (namespace == null) {
        namespace = System.getenv("WATCH_NAMESPACE");
      }
      KubernetesClient client = new KubernetesClientBuilder().build();
      String ns = namespace == null || namespace.isEmpty() ? null : namespace;
      Istiod istiod =
          new Istiod(
                  new KubernetesConfigSource(client, ns, resyncMillis),
                  "the Kubernetes API (not listed yet)",
                  KubernetesRegistry.factory(client, ns, resyncMillis),
                  mesh)
              .certificateAuthority(caDir, certTtl)
              .start(bind, xdsPort, httpPort);
      AutoCloseable webhooks = webhookPort > 0 ? startWebhooks(client, bind, webhookPort) : null;
      awaitShutdown(
          istiod,
          () -> {
            if (webhooks != null) {
              webhooks.close();
            }
            client.close();
          });
      return;
    }
    if (configSource != null && !configSource.equals("directory")) {
      System.err.println("unknown config source: " + configSource + " (directory or kubernetes)");
      System.exit(2);
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
    if (registryFile == null && System.getenv("REGISTRY_FILE") != null) {
      registryFile = Path.of(System.getenv("REGISTRY_FILE"));
    }
    Istiod istiod =
        new Istiod(
                new DirectoryConfigSource(dir), registryFile, System.getenv("REGISTRY_JSON"), mesh)
            .certificateAuthority(caDir, certTtl)
            .applyToken(applyToken)
            .start(bind, xdsPort, httpPort);
    awaitShutdown(istiod, null);
  }

  /** A duration as Istio's flags write it: 24h, 90m, 30s (or plain seconds). */
  static Duration ttl(String s) {
    String v = s.trim();
    char unit = v.charAt(v.length() - 1);
    if (Character.isDigit(unit)) {
      return Duration.ofSeconds(Long.parseLong(v));
    }
    long n = Long.parseLong(v.substring(0, v.length() - 1));
    return switch (unit) {
      case 'h' -> Duration.ofHours(n);
      case 'm' -> Duration.ofMinutes(n);
      case 's' -> Duration.ofSeconds(n);
      default -> throw new IllegalArgumentException("not a duration (24h, 90m, 30s): " + s);
    };
  }

  /**
   * Istio's webhooks on a cluster: a CA made now, its serving certificate for the istiod Service
   * (in POD_NAMESPACE, istio-system by default), and the caBundle kept in the webhook
   * configurations. The injected sidecars use PROXY_IMAGE and dial ISTIOD_ADDRESS when set.
   */
  static AutoCloseable startWebhooks(KubernetesClient client, String bind, int port)
      throws IOException {
    String ns = System.getenv().getOrDefault("POD_NAMESPACE", "istio-system");
    WebhookCertificates certs =
        WebhookCertificates.create(WebhookCertificates.serviceNames("istiod", ns));
    SidecarInjector.Settings d = SidecarInjector.Settings.defaults();
    SidecarInjector injector =
        new SidecarInjector(
            new SidecarInjector.Settings(
                System.getenv().getOrDefault("PROXY_IMAGE", d.proxyImage()),
                System.getenv().getOrDefault("ISTIOD_ADDRESS", "istiod." + ns + ".svc:15010"),
                d.clusterId()));
    WebhookServer server =
        new WebhookServer(bind, port, certs, new AdmissionWebhooks(injector)).start();
    CaBundlePatcher patcher = new CaBundlePatcher(client, certs.caPem()).start(30);
    return () -> {
      patcher.close();
      server.close();
    };
  }

  /** The informers' resync period by default (Istio's informers resync rarely; 0 is never). */
  static final long KUBE_RESYNC_MS = 60_000;

  private static void awaitShutdown(Istiod istiod, AutoCloseable client)
      throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  istiod.close();
                  if (client != null) {
                    try {
                      client.close();
                    } catch (Exception e) {
                      // exiting anyway
                    }
                  }
                  done.countDown();
                },
                "istiod-shutdown"));
    done.await();
  }
}
