package io.shopmesh.mesh.proxy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The data plane process: {@code --role sidecar|router}, configured only by istiod over ADS. */
@Command(
    name = "proxy",
    mixinStandardHelpOptions = true,
    description = "Sidecar and ingress gateway proxy driven by Envoy xDS from istiod.")
public final class ProxyMain implements Callable<Integer> {
  @Option(
      names = "--role",
      defaultValue = "${env:PROXY_ROLE:-sidecar}",
      description = "sidecar|router")
  String role;

  @Option(names = "--pod-name", defaultValue = "${env:POD_NAME}")
  String podName;

  @Option(names = "--namespace", defaultValue = "${env:POD_NAMESPACE:-default}")
  String namespace;

  @Option(names = "--pod-ip", defaultValue = "${env:INSTANCE_IP:-127.0.0.1}")
  String podIp;

  @Option(names = "--labels", defaultValue = "${env:ISTIO_META_LABELS}", description = "k=v,k=v")
  String labels;

  @Option(names = "--workload-name", defaultValue = "${env:ISTIO_META_WORKLOAD_NAME}")
  String workloadName;

  @Option(
      names = "--ports",
      defaultValue = "${env:ISTIO_META_POD_PORTS_LIST}",
      description = "[name:]8080[,..]")
  String ports;

  @Option(names = "--istiod", defaultValue = "${env:ISTIOD_ADDRESS:-127.0.0.1:15010}")
  String istiod;

  @Option(
      names = "--ca-address",
      defaultValue = "${env:CA_ADDR}",
      description = "istiod's certificate service (default: the --istiod address; none: no mTLS)")
  String caAddress;

  @Option(
      names = "--secret-ttl",
      defaultValue = "${env:SECRET_TTL:-0}",
      description = "workload certificate validity in seconds (0: istiod's default, 24h)")
  long secretTtlSeconds;

  @Option(
      names = "--bind",
      defaultValue = "${env:PROXY_BIND}",
      description = "listen address (default: pod IP)")
  String bind;

  @Option(names = "--local-port-offset", defaultValue = "${env:LOCAL_PORT_OFFSET:-0}")
  int localPortOffset;

  @Option(names = "--interception", defaultValue = "${env:ISTIO_META_INTERCEPTION_MODE:-none}")
  String interception;

  @Option(names = "--hosts-file", defaultValue = "${env:HOSTS_FILE:-/etc/hosts}")
  Path hostsFile;

  @Option(
      names = "--dns-resolvers",
      defaultValue = "${env:DNS_RESOLVERS:-system}",
      description = "system (resolv.conf), none (hosts file only) or IP[:PORT][,..]")
  String dnsResolvers;

  @Option(names = "--xds-backoff-base-ms", defaultValue = "${env:XDS_BACKOFF_BASE_MS:-500}")
  long xdsBackoffBaseMs;

  @Option(names = "--xds-backoff-max-ms", defaultValue = "${env:XDS_BACKOFF_MAX_MS:-500}")
  long xdsBackoffMaxMs;

  @Option(names = "--xds-keepalive-time-ms", defaultValue = "${env:XDS_KEEPALIVE_TIME_MS:-15000}")
  long xdsKeepaliveTimeMs;

  @Option(
      names = "--xds-keepalive-timeout-ms",
      defaultValue = "${env:XDS_KEEPALIVE_TIMEOUT_MS:-5000}")
  long xdsKeepaliveTimeoutMs;

  @Option(
      names = "--max-clusters",
      defaultValue = "${env:MAX_CLUSTERS:-0}",
      description = "most clusters a CDS update may carry; 0: half the heap at ~4 KB each")
  int maxClusters;

  @Option(names = "--certs-root", defaultValue = "${env:CERTS_ROOT}")
  Path certsRoot;

  @Option(
      names = "--token-file",
      defaultValue = "${env:ISTIO_TOKEN_FILE}",
      description = "This pod's token, sent to istiod as authorization: Bearer.")
  Path tokenFile;

  @Option(
      names = "--listener-bind",
      defaultValue = "${env:LISTENER_BIND}",
      description = "PORT=IP:PORT[,..]")
  String listenerBind;

  @Option(
      names = "--access-log",
      defaultValue = "${env:ACCESS_LOG:--}",
      description = "FILE, - (stdout) or off")
  String accessLog;

  @Option(
      names = "--decision-records",
      defaultValue = "${env:DECISION_RECORDS:-1000}",
      description = "how many requests' decision records to keep for /debug/requests (0: off)")
  int decisionRecords;

  @Option(names = "--admin-port", defaultValue = "15000", hidden = true)
  int adminPort;

  @Option(names = "--outbound-port", defaultValue = "15001", hidden = true)
  int outboundPort;

  @Option(names = "--inbound-port", defaultValue = "15006", hidden = true)
  int inboundPort;

  @Option(names = "--ready-port", defaultValue = "15021", hidden = true)
  int readyPort;

  @Option(names = "--stats-port", defaultValue = "15090", hidden = true)
  int statsPort;

  public static void main(String[] args) {
    // Netty's pooled allocator takes 4 MB chunks per arena (Vert.x's Netty and gRPC's shaded copy);
    // a proxy's buffers are small, and 1 MB chunks keep its resident memory ~8 MB lower at the same
    // throughput (bench/, docs/performance.md). A -D flag still wins.
    defaultProperty("io.netty.allocator.maxOrder", "7");
    defaultProperty("io.grpc.netty.shaded.io.netty.allocator.maxOrder", "7");
    System.exit(new CommandLine(new ProxyMain()).execute(args));
  }

  private static void defaultProperty(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  ProxyOptions toOptions() {
    ProxyOptions o = new ProxyOptions();
    o.role = "router".equalsIgnoreCase(role) ? ProxyOptions.Role.ROUTER : ProxyOptions.Role.SIDECAR;
    o.podName =
        podName != null
            ? podName
            : (o.role == ProxyOptions.Role.ROUTER ? "istio-ingressgateway-local" : "unknown");
    o.namespace = namespace;
    o.podIp = podIp;
    o.labels = parseMap(labels);
    o.workloadName = workloadName;
    o.ports = new ArrayList<>();
    if (ports != null && !ports.isBlank()) {
      for (String p : ports.split(",")) {
        // PORT or NAME:PORT, as the pod spec's containerPorts (name optional)
        String item = p.trim();
        int colon = item.lastIndexOf(':');
        int port = Integer.parseInt(item.substring(colon + 1));
        o.ports.add(port);
        if (colon > 0) {
          o.portNames.put(port, item.substring(0, colon));
        }
      }
    }
    o.istiod = istiod;
    o.caAddress =
        caAddress == null || caAddress.isBlank()
            ? istiod
            : "none".equals(caAddress) ? null : caAddress;
    o.workloadCertTtl = Duration.ofSeconds(secretTtlSeconds);
    o.bind = bind;
    o.localPortOffset = localPortOffset;
    o.interceptionNone = !"redirect".equalsIgnoreCase(interception);
    o.hostsFile = hostsFile;
    o.dnsResolvers = dnsResolvers;
    o.xdsBackoffBaseMs = xdsBackoffBaseMs;
    o.xdsBackoffMaxMs = xdsBackoffMaxMs;
    o.xdsKeepaliveTimeMs = xdsKeepaliveTimeMs;
    o.xdsKeepaliveTimeoutMs = xdsKeepaliveTimeoutMs;
    o.maxClusters = maxClusters;
    o.certsRoot = certsRoot;
    o.tokenFile = tokenFile;
    for (Map.Entry<String, String> e : parseMap(listenerBind).entrySet()) {
      o.listenerBind.put(Integer.parseInt(e.getKey()), e.getValue());
    }
    o.accessLog = accessLog;
    o.decisionRecords = decisionRecords;
    o.adminPort = adminPort;
    o.outboundPort = outboundPort;
    o.inboundPort = inboundPort;
    o.readyPort = readyPort;
    o.statsPort = statsPort;
    return o;
  }

  static Map<String, String> parseMap(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    if (s == null || s.isBlank()) {
      return m;
    }
    for (String kv : s.split(",")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
      }
    }
    return m;
  }

  @Override
  public Integer call() throws Exception {
    Proxy p = new Proxy(toOptions());
    p.start(true);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  p.close();
                  stop.countDown();
                }));
    stop.await();
    return 0;
  }

  static List<String> unused() {
    return List.of();
  }
}
