package io.shopmesh.mesh.meshctl.local;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Optional;

/**
 * The running mesh as the supervisor records it in {@code .mesh/state.json}; {@code status}, {@code
 * logs}, {@code down}, {@code apply}, {@code proxy-config} and {@code metrics} read it.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MeshState(
    long supervisorPid,
    long supervisorStartMillis,
    Phase phase,
    String message,
    long startedAtMillis,
    long readyAtMillis,
    String configDir,
    String istiodAddress,
    int xdsPort,
    int istiodHttpPort,
    String gatewayPublishAddress,
    int gatewayPublishPort,
    List<PodState> pods) {

  public enum Phase {
    STARTING,
    READY,
    FAILED,
    STOPPING
  }

  public MeshState {
    pods = pods == null ? List.of() : List.copyOf(pods);
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record PodState(
      String name,
      String namespace,
      String kind,
      String workload,
      String version,
      String ip,
      List<String> ports,
      List<ContainerState> containers) {

    public PodState {
      ports = ports == null ? List.of() : List.copyOf(ports);
      containers = containers == null ? List.of() : List.copyOf(containers);
    }

    public boolean hasProxy() {
      return containers.stream().anyMatch(c -> Planner.PROXY_CONTAINER.equals(c.name()));
    }

    public Optional<ContainerState> container(String name) {
      return containers.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** The container {@code logs} shows by default: the app, as Istio's default-container does. */
    public ContainerState defaultContainer() {
      return containers.stream()
          .filter(c -> !Planner.PROXY_CONTAINER.equals(c.name()))
          .findFirst()
          .orElse(containers.get(0));
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ContainerState(
      String name,
      long pid,
      long startMillis,
      int restarts,
      String log,
      boolean running,
      Integer exitCode) {}

  public Optional<PodState> pod(String name) {
    return pods.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  public String istiodHttpUrl() {
    return "http://" + istiodAddress + ":" + istiodHttpPort;
  }

  public String gatewayUrl() {
    return "http://"
        + ("127.0.0.1".equals(gatewayPublishAddress) ? "localhost" : gatewayPublishAddress)
        + ":"
        + gatewayPublishPort;
  }

  public MeshState withPhase(Phase p, String msg) {
    return new MeshState(
        supervisorPid,
        supervisorStartMillis,
        p,
        msg,
        startedAtMillis,
        readyAtMillis,
        configDir,
        istiodAddress,
        xdsPort,
        istiodHttpPort,
        gatewayPublishAddress,
        gatewayPublishPort,
        pods);
  }

  public MeshState withReady(long at) {
    return new MeshState(
        supervisorPid,
        supervisorStartMillis,
        Phase.READY,
        null,
        startedAtMillis,
        at,
        configDir,
        istiodAddress,
        xdsPort,
        istiodHttpPort,
        gatewayPublishAddress,
        gatewayPublishPort,
        pods);
  }

  public MeshState withPods(List<PodState> newPods) {
    return new MeshState(
        supervisorPid,
        supervisorStartMillis,
        phase,
        message,
        startedAtMillis,
        readyAtMillis,
        configDir,
        istiodAddress,
        xdsPort,
        istiodHttpPort,
        gatewayPublishAddress,
        gatewayPublishPort,
        newPods);
  }
}
