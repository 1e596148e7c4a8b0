package io.shopmesh.mesh.xds;

import io.shopmesh.mesh.config.Protocol;
import java.util.List;
import java.util.Map;

/**
 * A service as Istio's model.Service sees it, from a Kubernetes Service or a ServiceEntry host.
 *
 * @param hostname FQDN ({@code product-service.default.svc.cluster.local}) or the ServiceEntry host
 * @param name the Kubernetes name, or the host for a ServiceEntry (Istio's attributes.name)
 * @param selector pod selector (Kubernetes Service); null for ServiceEntries
 * @param endpoints static endpoints of a ServiceEntry
 */
public record MeshService(
    String hostname,
    String name,
    String namespace,
    List<Port> ports,
    Map<String, String> selector,
    Resolution resolution,
    boolean meshExternal,
    boolean serviceEntry,
    List<Endpoint> endpoints,
    String configPath) {

  /** Istio's resolution: Kubernetes services are CLIENT_SIDE (EDS). */
  public enum Resolution {
    CLIENT_SIDE,
    DNS,
    STATIC,
    PASSTHROUGH
  }

  /**
   * @param targetPort numeric target port (0 when named or unset)
   * @param targetPortName named target port, resolved per pod
   */
  public record Port(
      String name, int port, Protocol protocol, int targetPort, String targetPortName) {}

  /** A ServiceEntry endpoint (WorkloadEntry inline). */
  public record Endpoint(String address, Map<String, String> labels, Map<String, Long> ports) {}

  public Port port(int number) {
    for (Port p : ports) {
      if (p.port() == number) return p;
    }
    return null;
  }

  public boolean kubernetes() {
    return !serviceEntry;
  }
}
