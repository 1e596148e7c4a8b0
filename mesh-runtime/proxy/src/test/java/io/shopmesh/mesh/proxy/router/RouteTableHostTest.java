package io.shopmesh.mesh.proxy.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import org.junit.jupiter.api.Test;

/** Virtual host selection with and without ignore_port_in_host_matching. */
class RouteTableHostTest {

  static RouteTable table(boolean ignorePort) {
    return new RouteTable(
        RouteConfiguration.newBuilder()
            .setName("t")
            .setIgnorePortInHostMatching(ignorePort)
            .addVirtualHosts(VirtualHost.newBuilder().setName("a").addDomains("a.example"))
            .addVirtualHosts(VirtualHost.newBuilder().setName("v6").addDomains("[::1]"))
            .addVirtualHosts(VirtualHost.newBuilder().setName("wild").addDomains("*.example"))
            .build());
  }

  @Test
  void portIsStrippedOnlyWhenTheConfigSaysSo() {
    RouteTable ignoring = table(true);
    assertThat(ignoring.virtualHost("a.example:8080").name).isEqualTo("a");
    assertThat(ignoring.virtualHost("A.Example:80").name).isEqualTo("a");
    assertThat(ignoring.virtualHost("[::1]:8080").name).isEqualTo("v6");
    assertThat(ignoring.virtualHost("[::1]").name).isEqualTo("v6");
    assertThat(ignoring.virtualHost("b.example:9").name).isEqualTo("wild");

    RouteTable exact = table(false);
    assertThat(exact.virtualHost("a.example").name).isEqualTo("a");
    // the port is part of the host: neither the exact domain nor "*.example" matches
    assertThat(exact.virtualHost("a.example:8080")).isNull();
    assertThat(exact.virtualHost("[::1]:8080")).isNull();
  }
}
