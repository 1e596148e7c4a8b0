package io.shopmesh.mesh.config.model;

import io.shopmesh.mesh.config.Protocol;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A service as Istio's model.Service sees it, from a Kubernetes Service or a ServiceEntry host
 * ({@link ServiceConversion}): the one service model of the analyzers' host registry and of the
 * translator's push context.
 *
 * @param hostname FQDN ({@code product-service.default.svc.cluster.local}) or the ServiceEntry host
 * @param name the Kubernetes name, or the host for a ServiceEntry (Istio's attributes.name)
 * @param selector pod selector (Kubernetes Service); null for ServiceEntries
 * @param endpoints static endpoints of a ServiceEntry
 * @param configPath Istio's config path of the ServiceEntry (null for Kubernetes services)
 * @param exportTo exportTo as written (ServiceEntry) or the networking.istio.io/exportTo annotation
 * @param workloadSelector the ServiceEntry's workloadSelector labels (empty when none)
 * @param addresses the service's virtual addresses: a Kubernetes Service's clusterIP, a
 *     ServiceEntry's addresses (an IP or a CIDR; a full-length CIDR written as its IP, as Istio's
 *     conversion does); empty when it has none (Istio's 0.0.0.0)
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
    String configPath,
    List<String> exportTo,
    Map<String, String> workloadSelector,
    List<String> addresses) {

  /** Istio's resolution: Kubernetes services are CLIENT_SIDE (EDS). */
  public enum Resolution {
    CLIENT_SIDE,
    DNS,
    /** DNS_ROUND_ROBIN: one connection-level DNS answer at a time (Envoy LOGICAL_DNS). */
    DNS_ROUND_ROBIN,
    STATIC,
    PASSTHROUGH
  }

  /**
   * @param targetPort numeric target port (0 when named or unset)
   * @param targetPortName named target port, resolved per pod
   */
  public record Port(
      String name, int port, Protocol protocol, int targetPort, String targetPortName) {}

  /**
   * A ServiceEntry endpoint (WorkloadEntry inline).
   *
   * @param servicePorts the service port numbers it is an instance of (those of its own
   *     ServiceEntry, when several ServiceEntries share the host); empty: every port
   */
  public record Endpoint(
      String address,
      Map<String, String> labels,
      Map<String, Long> ports,
      Set<Integer> servicePorts) {

    public Endpoint(String address, Map<String, String> labels, Map<String, Long> ports) {
      this(address, labels, ports, Set.of());
    }

    public Endpoint {
      servicePorts = Set.copyOf(servicePorts);
    }

    /** Whether this endpoint is an instance of the service port with this number. */
    public boolean serves(int servicePort) {
      return servicePorts.isEmpty() || servicePorts.contains(servicePort);
    }
  }

  public MeshService {
    ports = List.copyOf(ports);
    endpoints = List.copyOf(endpoints);
    exportTo = List.copyOf(exportTo);
    workloadSelector = Map.copyOf(workloadSelector);
    addresses = List.copyOf(addresses);
  }

  public Port port(int number) {
    for (Port p : ports) {
      if (p.port() == number) {
        return p;
      }
    }
    return null;
  }

  public boolean kubernetes() {
    return !serviceEntry;
  }
}
