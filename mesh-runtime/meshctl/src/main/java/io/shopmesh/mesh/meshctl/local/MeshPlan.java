package io.shopmesh.mesh.meshctl.local;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What {@code meshctl up} will run: istiod, the ingress gateway, one pod per replica of every
 * Deployment (app + sidecar) and the payment provider outside the mesh. Pure data, no processes.
 */
public record MeshPlan(
    String subnet,
    String istiodAddress,
    int xdsPort,
    int istiodHttpPort,
    String gatewayPublishAddress,
    int gatewayPublishPort,
    int gatewayHttpsPublishPort,
    List<Pod> pods) {

  public MeshPlan {
    pods = List.copyOf(pods);
  }

  public enum Kind {
    WORKLOAD,
    GATEWAY,
    /** not part of the mesh: no sidecar (the payment provider) */
    EXTERNAL
  }

  public enum ContainerType {
    APP,
    PROXY
  }

  /** An app port: what the manifest declares, and where the process really listens locally. */
  public record PortMapping(int containerPort, int localPort) {
    public static PortMapping of(int containerPort) {
      return new PortMapping(containerPort, MeshPlan.localPort(containerPort));
    }

    @Override
    public String toString() {
      return containerPort == localPort
          ? Integer.toString(containerPort)
          : containerPort + "->" + localPort;
    }
  }

  /** Ports below 1024 need root: locally they listen 10000 higher (frontend 80 -> 10080). */
  public static final int LOW_PORT_OFFSET = 10000;

  public static int localPort(int containerPort) {
    return containerPort < 1024 ? containerPort + LOW_PORT_OFFSET : containerPort;
  }

  public record Container(String name, ContainerType type, String module, List<PortMapping> ports) {
    public Container {
      ports = List.copyOf(ports);
    }
  }

  public record Pod(
      String name,
      String namespace,
      Kind kind,
      String workload,
      String version,
      String ip,
      Map<String, String> labels,
      List<Container> containers,
      String serviceAccount) {

    public Pod {
      labels = Map.copyOf(labels);
      containers = List.copyOf(containers);
    }

    public List<PortMapping> appPorts() {
      return containers.stream()
          .filter(c -> c.type() == ContainerType.APP)
          .flatMap(c -> c.ports().stream())
          .toList();
    }

    public boolean hasProxy() {
      return containers.stream().anyMatch(c -> c.type() == ContainerType.PROXY);
    }

    /** Labels as the proxy flag wants them: k=v,k=v, sorted so the text is stable. */
    public String labelsFlag() {
      return labels.entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .map(e -> e.getKey() + "=" + e.getValue())
          .collect(Collectors.joining(","));
    }
  }

  public Pod gateway() {
    return pods.stream().filter(p -> p.kind() == Kind.GATEWAY).findFirst().orElseThrow();
  }

  public List<Pod> proxies() {
    return pods.stream().filter(Pod::hasProxy).toList();
  }
}
