package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntries that declare the same host in one namespace: Istio keeps the first one's service,
 * adds the later one's ports when they can merge, and indexes the endpoints of both by host.
 */
class SharedHostServiceEntryTest {

  static String entry(String name, String resolution, String ports, String endpoints) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: %s}
        spec:
          hosts: [istio.io]
          location: MESH_EXTERNAL
          resolution: %s
          ports: [%s]
        %s"""
        .formatted(name, resolution, ports, endpoints.indent(2));
  }

  static XdsResources generate(String... docs) {
    return XdsGenerator.generate(
        Fixtures.yaml(docs), Fixtures.productPods(), Fixtures.frontendSidecar());
  }

  static List<String> addresses(ClusterLoadAssignment cla) {
    return cla.getEndpointsList().stream()
        .flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress())
        .map(SocketAddress::toString)
        .map(s -> s.replaceAll("\\s+", " ").trim())
        .toList();
  }

  @Test
  void twoDnsEntriesForOneHostServeBothPorts() {
    XdsResources r =
        generate(
            entry("istio-http", "DNS", "{number: 80, name: http, protocol: HTTP}", ""),
            entry("istio-https", "DNS", "{number: 443, name: https, protocol: HTTPS}", ""));
    Cluster c80 = r.cluster("outbound|80||istio.io");
    Cluster c443 = r.cluster("outbound|443||istio.io");
    assertThat(c80).isNotNull();
    assertThat(c443).isNotNull();
    // each port resolves the host at its own port, not at the other entry's
    assertThat(addresses(c80.getLoadAssignment()))
        .containsExactly("address: \"istio.io\" port_value: 80");
    assertThat(addresses(c443.getLoadAssignment()))
        .containsExactly("address: \"istio.io\" port_value: 443");
    // the TLS port gets its SNI chain, the HTTP port its route config
    assertThat(r.listener("0.0.0.0_443")).isNotNull();
    assertThat(r.route("80")).isNotNull();
  }

  @Test
  void staticEntriesKeepTheirEndpointsToTheirOwnPorts() {
    XdsResources r =
        generate(
            entry(
                "a",
                "STATIC",
                "{number: 80, name: http, protocol: HTTP}",
                "endpoints: [{address: 10.0.0.1}]"),
            entry(
                "b",
                "STATIC",
                "{number: 80, name: http, protocol: HTTP}, {number: 9090, name: http-admin,"
                    + " protocol: HTTP}",
                "endpoints: [{address: 10.0.0.2}]"));
    // port 80 is both entries': the endpoints of both
    assertThat(addresses(r.endpoints("outbound|80||istio.io")))
        .containsExactly(
            "address: \"10.0.0.1\" port_value: 80", "address: \"10.0.0.2\" port_value: 80");
    // port 9090 is b's only
    assertThat(addresses(r.endpoints("outbound|9090||istio.io")))
        .containsExactly("address: \"10.0.0.2\" port_value: 9090");
  }

  @Test
  void entriesThatCannotMergeKeepTheFirst() {
    XdsResources r =
        generate(
            entry("istio-http", "DNS", "{number: 80, name: http, protocol: HTTP}", ""),
            entry(
                "istio-static",
                "STATIC",
                "{number: 8080, name: http-alt, protocol: HTTP}",
                "endpoints: [{address: 10.0.0.2}]"));
    assertThat(r.cluster("outbound|80||istio.io")).isNotNull();
    // a different resolution: Istio does not add the later entry's port
    assertThat(r.cluster("outbound|8080||istio.io")).isNull();
  }
}
