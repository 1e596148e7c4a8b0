package io.shopmesh.mesh.config.analysis;

import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Diagnostic.Level;
import io.shopmesh.mesh.config.Resource;
import java.util.List;

/** Istio's analyzer messages (pkg/config/analysis/msg/messages.yaml): code, level and text. */
final class Messages {

  private Messages() {}

  static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** Go's %v of a slice: {@code [a b c]}. */
  static String goList(List<?> items) {
    StringBuilder sb = new StringBuilder("[");
    for (Object o : items) {
      sb.append(sb.length() > 1 ? " " : "").append(o);
    }
    return sb.append(']').toString();
  }

  static Diagnostic referencedResourceNotFound(Resource r, String path, String what, String name) {
    return r.diagnostic(
        Level.ERROR, "IST0101", path, "Referenced " + what + " not found: " + q(name));
  }

  static Diagnostic conflictingMeshGatewayHosts(Resource r, String names, String host) {
    return r.diagnostic(
        Level.ERROR,
        "IST0109",
        "metadata.name",
        "The VirtualServices "
            + names
            + " associated with mesh gateway define the same host "
            + host
            + " which can lead to undefined behavior."
            + " This can be fixed by merging the conflicting VirtualServices into a single resource.");
  }

  static Diagnostic portSelectorRequired(Resource r, String path, String host, List<Long> ports) {
    return r.diagnostic(
        Level.ERROR,
        "IST0112",
        path,
        "This VirtualService routes to a service "
            + q(host)
            + " that exposes multiple ports "
            + goList(ports)
            + ". Specifying a port in the destination is required to disambiguate.");
  }

  static Diagnostic noServerCertVerificationDestination(
      Resource r, String path, String mode, String host) {
    return r.diagnostic(
        Level.WARNING,
        "IST0128",
        path,
        "DestinationRule "
            + r.id()
            + " in namespace "
            + r.namespace()
            + " has TLS mode set to "
            + mode
            + " but no caCertificates are set to validate server"
            + " identity for host: "
            + host);
  }

  static Diagnostic noServerCertVerificationPort(
      Resource r, String path, String mode, String host, String port) {
    return r.diagnostic(
        Level.WARNING,
        "IST0129",
        path,
        "DestinationRule "
            + r.id()
            + " in namespace "
            + r.namespace()
            + " has TLS mode set to "
            + mode
            + " but no caCertificates are set to validate server"
            + " identity for host: "
            + host
            + " at port "
            + port);
  }

  static Diagnostic hostNotFoundInGateway(
      Resource r, String path, List<String> hosts, String gateway) {
    return r.diagnostic(
        Level.WARNING,
        "IST0132",
        path,
        "one or more host "
            + goList(hosts)
            + " defined in VirtualService "
            + r.id()
            + " not found in Gateway "
            + gateway
            + ".");
  }

  static Diagnostic serviceEntryAddressesRequired(Resource r, String path) {
    return r.diagnostic(
        Level.WARNING, "IST0134", path, "ServiceEntry addresses are required for this protocol.");
  }

  static Diagnostic ingressRouteRulesNotAffected(
      Resource r, String path, String vs, String gateway) {
    return r.diagnostic(
        Level.WARNING,
        "IST0140",
        path,
        "Subset in virtual service "
            + vs
            + " has no effect on ingress gateway "
            + gateway
            + " requests");
  }

  static Diagnostic conflictingGateways(
      Resource r, String path, String gateways, String selector, String port, String hosts) {
    return r.diagnostic(
        Level.ERROR,
        "IST0145",
        path,
        "Conflict with gateways "
            + gateways
            + " (workload selector "
            + selector
            + ", port "
            + port
            + ", hosts "
            + hosts
            + ").");
  }

  static Diagnostic gatewayPortNotDefinedOnService(
      Resource r, String path, long port, String selector) {
    return r.diagnostic(
        Level.WARNING,
        "IST0162",
        path,
        "The gateway is listening on a target port (port "
            + port
            + ") that is not defined in the Service associated with its workload instances (Pod selector "
            + selector
            + "). If you need to access the gateway port through the gateway Service, it will not be available.");
  }

  static Diagnostic subsetNotSelectPods(Resource r, String path, String subset) {
    return r.diagnostic(
        Level.ERROR,
        "IST0173",
        path,
        "The Subset "
            + subset
            + " defined in the DestinationRule"
            + " does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).");
  }

  static Diagnostic unknownDestinationRuleHost(Resource r, String path, String host) {
    return r.diagnostic(
        Level.WARNING,
        "IST0174",
        path,
        "The host "
            + host
            + " defined in the DestinationRule does"
            + " not match any services in the mesh.");
  }

  static Diagnostic conflictingServiceEntryProtocol(
      Resource r, String names, String host, long port, String protocols) {
    return r.diagnostic(
        Level.WARNING,
        "IST0177",
        "metadata.name",
        "Multiple ServiceEntries ("
            + names
            + ") define the same host "
            + q(host)
            + " and port "
            + port
            + " with conflicting protocols ("
            + protocols
            + ").");
  }
}
