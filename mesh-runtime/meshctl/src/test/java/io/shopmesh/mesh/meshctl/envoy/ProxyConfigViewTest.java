package io.shopmesh.mesh.meshctl.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProxyConfigViewTest {

  static ConfigDump dump() throws IOException {
    return ConfigDump.parse(Files.readString(Path.of("src/test/resources/config_dump.json")));
  }

  @Test
  void routesShowIstioctlsColumns() throws IOException {
    String out = ProxyConfigView.routes(dump().routes());
    assertThat(out.lines().findFirst().orElseThrow())
        .startsWith("NAME")
        .contains("VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE");
    assertThat(out).contains("product-service, product-service.default ");
    assertThat(out).contains("/* [user-type=premium]").contains("product-vs.default");
    assertThat(out.lines().filter(l -> l.startsWith("8080"))).hasSize(3);
  }

  @Test
  void domainsLeaveOutTheHostPortForms() throws IOException {
    var domains =
        ConfigDump.JSON.readTree(
            "[\"order-service.default.svc.cluster.local\","
                + "\"order-service.default.svc.cluster.local:8080\",\"order-service\",\"order-service:8080\","
                + "\"order-service.default.svc\",\"order-service.default.svc:8080\",\"order-service.default\","
                + "\"order-service.default:8080\"]");
    // istioctl's unexpandDomains: the .svc.cluster.local and .svc forms of listed names go
    assertThat(ProxyConfigView.domains(domains)).isEqualTo("order-service, order-service.default");
    // Istio's current shape: no port forms, the trailing-dot FQDN
    var current =
        ConfigDump.JSON.readTree(
            "[\"order-service.default.svc.cluster.local\","
                + "\"order-service.default.svc.cluster.local.\",\"order-service\","
                + "\"order-service.default.svc\",\"order-service.default\"]");
    assertThat(ProxyConfigView.domains(current))
        .isEqualTo("order-service.default.svc.cluster.local., order-service + 1 more...");
    assertThat(ProxyConfigView.domains(ConfigDump.JSON.readTree("[\"*\"]"))).isEqualTo("*");
  }

  @Test
  void clustersShowIstioctlsColumns() throws IOException {
    String out = ProxyConfigView.clusters(dump().clusters());
    assertThat(out).startsWith("SERVICE FQDN");
    assertThat(out)
        .containsPattern(
            "product-service.default.svc.cluster.local\\s+8080\\s+v1\\s+outbound\\s+EDS\\s+product-service.default");
    assertThat(out)
        .containsPattern(
            "product-service.default.svc.cluster.local\\s+8080\\s+-\\s+outbound\\s+EDS");
    assertThat(out).containsPattern("BlackHoleCluster\\s+-\\s+-\\s+-\\s+STATIC");
    assertThat(out).containsPattern("\\s+80\\s+-\\s+inbound\\s+STATIC");
  }

  @Test
  void listenersShowMatchAndDestination() throws IOException {
    String out = ProxyConfigView.listeners(dump().listeners());
    assertThat(out).startsWith("ADDRESSES");
    assertThat(out)
        .contains("Port: 8080; Trans: raw_buffer; App: http/1.1,h2c")
        .contains("Route: 8080");
    assertThat(out).contains("Cluster: PassthroughCluster");
  }

  @Test
  void weightedClustersAreInTheJson() throws IOException {
    List<JsonNode> routes = dump().routes();
    JsonNode wc =
        routes
            .get(0)
            .get("virtual_hosts")
            .get(0)
            .get("routes")
            .get(1)
            .get("route")
            .get("weighted_clusters");
    assertThat(wc.get("clusters").get(0).get("weight").asInt()).isEqualTo(80);
  }

  @Test
  void readsCamelCaseToo() throws IOException {
    ConfigDump d =
        ConfigDump.parse(
            """
        {"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
          "dynamicRouteConfigs":[{"routeConfig":{"name":"http.8080","virtualHosts":[{"name":"shop.example.com:80",
            "domains":["shop.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"outbound|80||frontend.default.svc.cluster.local"}}]}]}}]}]}
        """);
    assertThat(ProxyConfigView.routes(d.routes()))
        .contains("http.8080")
        .contains("shop.example.com:80");
  }

  @Test
  void endpointsFromAdminClusters() throws IOException {
    JsonNode clusters =
        ConfigDump.JSON.readTree(
            """
        {"cluster_statuses":[{"name":"outbound|8080|v1|product-service.default.svc.cluster.local",
          "host_statuses":[{"address":{"socket_address":{"address":"127.0.1.11","port_value":8080}},
            "health_status":{"eds_health_status":"HEALTHY"}},
            {"address":{"socket_address":{"address":"127.0.1.12","port_value":8080}},
            "health_status":{"eds_health_status":"HEALTHY","failed_outlier_check":true}}]}]}
        """);
    String out = ProxyConfigView.endpointsFromClusters(clusters);
    assertThat(out)
        .startsWith("ENDPOINT")
        .containsPattern("127.0.1.11:8080\\s+HEALTHY\\s+OK\\s+outbound\\|8080\\|v1")
        .containsPattern("127.0.1.12:8080\\s+HEALTHY\\s+FAILED");
  }
}
