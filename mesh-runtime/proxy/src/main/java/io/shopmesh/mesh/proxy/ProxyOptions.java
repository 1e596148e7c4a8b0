package io.shopmesh.mesh.proxy;

import io.shopmesh.mesh.wire.NodeId;
import io.vertx.core.net.NetSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Runtime settings of one proxy process (flags or environment, see ProxyMain). */
public final class ProxyOptions {
  public enum Role {
    SIDECAR,
    ROUTER
  }

  public Role role = Role.SIDECAR;
  public String podName = "unknown";
  public String namespace = "default";
  public String podIp = "127.0.0.1";
  public Map<String, String> labels = new LinkedHashMap<>();
  public String workloadName;
  public List<Integer> ports = new ArrayList<>();

  /** Container port names, where the pod names its ports (a Service's targetPort may use them). */
  public Map<Integer, String> portNames = new LinkedHashMap<>();

  public String istiod = "127.0.0.1:15010";

  /**
   * istiod's certificate service (Istio's CA_ADDR), usually the xDS address; null: no workload
   * certificate is requested (the secrets {@code default} and {@code ROOTCA} stay empty).
   */
  public String caAddress;

  /** The workload certificate validity asked for (Istio's SECRET_TTL); zero: istiod's default. */
  public Duration workloadCertTtl = Duration.ZERO;

  public String bind;
  public int localPortOffset = 0;

  /** NONE: apps send proxy-form requests to 15001 and peers are dialled at :15006. */
  public boolean interceptionNone = true;

  /**
   * Tests only: the original destination of an outbound connection ({@code ip:port}) in place of
   * SO_ORIGINAL_DST, which needs iptables; set, the outbound port runs as in redirect mode.
   */
  public Function<NetSocket, String> originalDst;

  /** Read for local names before DNS (null: none). ProxyMain defaults it to /etc/hosts. */
  public Path hostsFile;

  /** DNS servers: {@code system} (resolv.conf), {@code none} (hosts file only), or IP[:PORT],... */
  public String dnsResolvers = "system";

  /** Bounds on DNS work, whatever the config asks: outstanding queries and queries per second. */
  public int dnsMaxInFlight = 32;

  public int dnsMaxQueriesPerSecond = 100;

  /**
   * ADS reconnect backoff (Envoy: 500 ms base, 30 s max). The 500 ms cap bounds the time from
   * istiod's return to reconnection; raise it for large fleets, where reconnect storms matter more.
   */
  public long xdsBackoffBaseMs = 500;

  public long xdsBackoffMaxMs = 500;

  /** HTTP/2 keepalive on the ADS channel (istiod permits pings every 10 s at most). */
  public long xdsKeepaliveTimeMs = 15_000;

  public long xdsKeepaliveTimeoutMs = 5_000;

  /**
   * Largest xDS response accepted (a larger one ends the stream; the last config keeps serving). 0:
   * an eighth of the heap, at most 64 MiB.
   */
  public int xdsMaxMessageBytes = 0;

  /** Most clusters a CDS update may carry (more is NACKed). 0: half the heap at ~4 KB each. */
  public int maxClusters = 0;

  public Path certsRoot;

  /** This pod's token for istiod (Istio: /var/run/secrets/tokens/istio-token); null: none. */
  public Path tokenFile;

  public Map<Integer, String> listenerBind = new LinkedHashMap<>();
  public String accessLog = "-";

  /** Decision records kept for /debug/requests, the newest N; 0 records nothing. */
  public int decisionRecords = 1000;

  public String clusterId = "Kubernetes";
  public String istioVersion = "1.24.0";

  // Well-known Istio ports; tests override them with 0 (ephemeral).
  public int adminPort = 15000;
  public int outboundPort = 15001;
  public int inboundPort = 15006;
  public int readyPort = 15021;
  public int statsPort = 15090;

  /** The inbound port peers dial in interception-none mode. */
  public int peerInboundPort = 15006;

  public String bindAddress() {
    return bind != null ? bind : podIp;
  }

  public String workload() {
    if (workloadName != null && !workloadName.isEmpty()) {
      return workloadName;
    }
    return deriveWorkload(podName);
  }

  /** Strips the ReplicaSet and pod hashes from a pod name, as Istio does for WORKLOAD_NAME. */
  static String deriveWorkload(String pod) {
    String[] parts = pod.split("-");
    if (parts.length >= 3) {
      return String.join("-", Arrays.copyOf(parts, parts.length - 2));
    }
    if (parts.length == 2) {
      return parts[0];
    }
    return pod;
  }

  public String nodeType() {
    return nodeIdType().prefix();
  }

  private NodeId.Type nodeIdType() {
    return role == Role.ROUTER ? NodeId.Type.ROUTER : NodeId.Type.SIDECAR;
  }

  public String nodeId() {
    return NodeId.format(nodeIdType(), podIp, podName, namespace);
  }
}
