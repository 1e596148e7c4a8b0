package io.shopmesh.mesh.config;

import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.istio.api.security.v1.AuthorizationPolicy;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.shopmesh.mesh.wire.NodeId;
import java.util.List;

/**
 * One immutable snapshot of the mesh's configuration: every Kubernetes and Istio object that was
 * read, whatever API version it was written in (v1alpha3 and v1beta1 objects are read into the v1
 * model, their schemas are the same).
 */
public record MeshConfig(
    List<Located<VirtualService>> virtualServices,
    List<Located<DestinationRule>> destinationRules,
    List<Located<Gateway>> gateways,
    List<Located<ServiceEntry>> serviceEntries,
    List<Located<Service>> services,
    List<Located<Deployment>> deployments,
    List<Located<Namespace>> namespaces,
    List<Located<AuthorizationPolicy>> authorizationPolicies) {

  public static final String DEFAULT_NAMESPACE = "default";
  public static final String DOMAIN_SUFFIX = NodeId.DOMAIN_SUFFIX;

  public static MeshConfig empty() {
    return new MeshConfig(
        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
  }

  /** A config without security policies. */
  public MeshConfig(
      List<Located<VirtualService>> virtualServices,
      List<Located<DestinationRule>> destinationRules,
      List<Located<Gateway>> gateways,
      List<Located<ServiceEntry>> serviceEntries,
      List<Located<Service>> services,
      List<Located<Deployment>> deployments,
      List<Located<Namespace>> namespaces) {
    this(
        virtualServices,
        destinationRules,
        gateways,
        serviceEntries,
        services,
        deployments,
        namespaces,
        List.of());
  }

  /** The same config with these AuthorizationPolicies. */
  public MeshConfig withAuthorizationPolicies(List<Located<AuthorizationPolicy>> policies) {
    return new MeshConfig(
        virtualServices,
        destinationRules,
        gateways,
        serviceEntries,
        services,
        deployments,
        namespaces,
        policies);
  }

  public MeshConfig {
    virtualServices = List.copyOf(virtualServices);
    destinationRules = List.copyOf(destinationRules);
    gateways = List.copyOf(gateways);
    serviceEntries = List.copyOf(serviceEntries);
    services = List.copyOf(services);
    deployments = List.copyOf(deployments);
    namespaces = List.copyOf(namespaces);
    authorizationPolicies = List.copyOf(authorizationPolicies);
  }
}
