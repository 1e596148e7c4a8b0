package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * DestinationRule traffic policies, one row each: the {@code trafficPolicy:} YAML and the cluster
 * it gives.
 */
class ClusterTableTest {

  static final String CLUSTER = "outbound|8080||product-service.default.svc.cluster.local";

  static Arguments row(String name, String policy, Consumer<Cluster> check) {
    return Arguments.of(name, policy, check);
  }

  static Stream<Arguments> rows() {
    return Stream.of(
        row(
            "no policy: LEAST_REQUEST, EDS over ADS, default thresholds",
            "{}",
            c -> {
              assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
              assertThat(c.getEdsClusterConfig().getServiceName()).isEqualTo(CLUSTER);
              assertThat(c.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
              assertThat(c.getConnectTimeout().getSeconds()).isEqualTo(10);
              var t = c.getCircuitBreakers().getThresholds(0);
              assertThat(t.getMaxConnections().getValue()).isEqualTo(-1); // 4294967295 as unsigned
              assertThat(t.getTrackRemaining()).isTrue();
              var istio = c.getMetadata().getFilterMetadataOrThrow("istio");
              assertThat(istio.getFieldsOrThrow("default_original_port").getNumberValue())
                  .isEqualTo(8080);
              assertThat(
                      istio
                          .getFieldsOrThrow("services")
                          .getListValue()
                          .getValues(0)
                          .getStructValue()
                          .getFieldsOrThrow("host")
                          .getStringValue())
                  .isEqualTo("product-service.default.svc.cluster.local");
            }),
        row(
            "simple ROUND_ROBIN",
            "{loadBalancer: {simple: ROUND_ROBIN}}",
            c -> assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN)),
        row(
            "simple RANDOM",
            "{loadBalancer: {simple: RANDOM}}",
            c -> assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM)),
        row(
            "simple PASSTHROUGH: original destination",
            "{loadBalancer: {simple: PASSTHROUGH}}",
            c -> {
              assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
            }),
        row(
            "consistentHash ring hash",
            "{loadBalancer: {consistentHash: {useSourceIp: true}}}",
            c -> {
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
              assertThat(c.getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(1024);
            }),
        row(
            "consistentHash maglev",
            "{loadBalancer: {consistentHash: {httpQueryParameterName: u, maglev: {tableSize: 65537}}}}",
            c -> {
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.MAGLEV);
              assertThat(c.getMaglevLbConfig().getTableSize().getValue()).isEqualTo(65537);
            }),
        row(
            "connectionPool tcp/http",
            """
            {connectionPool: {tcp: {maxConnections: 5, connectTimeout: 3s},
              http: {http1MaxPendingRequests: 1, http2MaxRequests: 7, maxRetries: 2, maxRequestsPerConnection: 10, idleTimeout: 30s}}}
            """,
            c -> {
              var t = c.getCircuitBreakers().getThresholds(0);
              assertThat(t.getMaxConnections().getValue()).isEqualTo(5);
              assertThat(t.getMaxPendingRequests().getValue()).isEqualTo(1);
              assertThat(t.getMaxRequests().getValue()).isEqualTo(7);
              assertThat(t.getMaxRetries().getValue()).isEqualTo(2);
              assertThat(c.getConnectTimeout().getSeconds()).isEqualTo(3);
              HttpProtocolOptions o = unpack(c);
              assertThat(o.getCommonHttpProtocolOptions().getMaxRequestsPerConnection().getValue())
                  .isEqualTo(10);
              assertThat(o.getCommonHttpProtocolOptions().getIdleTimeout().getSeconds())
                  .isEqualTo(30);
              assertThat(o.getExplicitHttpConfig().hasHttpProtocolOptions()).isTrue();
            }),
        row(
            "outlierDetection as Istio maps it",
            """
            {outlierDetection: {consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}}
            """,
            c -> {
              var o = c.getOutlierDetection();
              assertThat(o.getConsecutive5Xx().getValue()).isEqualTo(3);
              assertThat(o.getEnforcingConsecutive5Xx().getValue()).isEqualTo(100);
              assertThat(o.getConsecutiveGatewayFailure().getValue()).isEqualTo(2);
              assertThat(o.getEnforcingConsecutiveGatewayFailure().getValue()).isEqualTo(100);
              assertThat(o.getEnforcingSuccessRate().getValue()).isZero();
              assertThat(o.getInterval().getSeconds()).isEqualTo(5);
              assertThat(o.getBaseEjectionTime().getSeconds()).isEqualTo(30);
              assertThat(o.getMaxEjectionPercent().getValue()).isEqualTo(50);
              assertThat(c.getCommonLbConfig().getHealthyPanicThreshold().getValue()).isZero();
            }),
        row(
            "tls SIMPLE with CA and SNI",
            "{tls: {mode: SIMPLE, sni: products.example.com, caCertificates: /etc/certs/ca.crt}}",
            c -> {
              assertThat(c.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
              UpstreamTlsContext t = unpackTls(c);
              assertThat(t.getSni()).isEqualTo("products.example.com");
              var combined = t.getCommonTlsContext().getCombinedValidationContext();
              assertThat(combined.getValidationContextSdsSecretConfig().getName())
                  .isEqualTo("file-root:/etc/certs/ca.crt");
              // an sni: no auto_sni, and this HTTP/1.1 cluster needs no protocol options
              assertThat(c.getTypedExtensionProtocolOptionsMap())
                  .doesNotContainKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
            }),
        row(
            "tls SIMPLE without CA or SNI: the system root, auto_sni and auto_san_validation",
            "{tls: {mode: SIMPLE}}",
            c -> {
              UpstreamTlsContext t = unpackTls(c);
              assertThat(t.getSni()).isEmpty();
              var combined = t.getCommonTlsContext().getCombinedValidationContext();
              assertThat(combined.getValidationContextSdsSecretConfig().getName())
                  .isEqualTo("file-root:system");
              var up = unpack(c).getUpstreamHttpProtocolOptions();
              assertThat(up.getAutoSni()).isTrue();
              assertThat(up.getAutoSanValidation()).isTrue();
              assertThat(unpack(c).getExplicitHttpConfig().hasHttpProtocolOptions()).isTrue();
            }),
        row(
            "tls SIMPLE with subjectAltNames and no SNI: auto_sni only, the SANs matched",
            "{tls: {mode: SIMPLE, subjectAltNames: [products.example.com]}}",
            c -> {
              var dflt =
                  unpackTls(c)
                      .getCommonTlsContext()
                      .getCombinedValidationContext()
                      .getDefaultValidationContext();
              assertThat(dflt.getMatchTypedSubjectAltNames(0).getMatcher().getExact())
                  .isEqualTo("products.example.com");
              var up = unpack(c).getUpstreamHttpProtocolOptions();
              assertThat(up.getAutoSni()).isTrue();
              assertThat(up.getAutoSanValidation()).isFalse();
            }),
        row(
            "tls insecureSkipVerify: an empty validation context, no auto_san_validation",
            "{tls: {mode: SIMPLE, insecureSkipVerify: true}}",
            c -> {
              var common = unpackTls(c).getCommonTlsContext();
              assertThat(common.hasValidationContext()).isTrue();
              assertThat(common.getValidationContext().hasTrustedCa()).isFalse();
              assertThat(common.hasCombinedValidationContext()).isFalse();
              var up = unpack(c).getUpstreamHttpProtocolOptions();
              assertThat(up.getAutoSni()).isTrue();
              assertThat(up.getAutoSanValidation()).isFalse();
            }),
        row(
            "tls DISABLE",
            "{tls: {mode: DISABLE}}",
            c -> assertThat(c.hasTransportSocket()).isFalse()),
        row(
            "portLevelSettings for this port override the top level",
            """
            {loadBalancer: {simple: RANDOM}, portLevelSettings: [{port: {number: 8080}, loadBalancer: {simple: ROUND_ROBIN}}]}
            """,
            c -> assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN)),
        row(
            "portLevelSettings for another port do not apply",
            """
            {portLevelSettings: [{port: {number: 9090}, loadBalancer: {simple: ROUND_ROBIN}}]}
            """,
            c -> assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST)),
        row(
            "a port-level entry replaces the whole policy: what it omits is Istio's default",
            """
            {connectionPool: {tcp: {maxConnections: 10}}, outlierDetection: {consecutive5xxErrors: 3}, tls: {mode: SIMPLE}, portLevelSettings: [{port: {number: 8080}, loadBalancer: {simple: ROUND_ROBIN}}]}
            """,
            c -> {
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
              assertThat(c.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue())
                  .isEqualTo((int) 4294967295L);
              assertThat(c.hasOutlierDetection()).isFalse();
              assertThat(c.hasTransportSocket()).isFalse();
            }),
        row(
            "a port-level connectionPool replaces the top-level one, not field by field",
            """
            {connectionPool: {tcp: {maxConnections: 10}, http: {http1MaxPendingRequests: 5}}, loadBalancer: {simple: RANDOM}, portLevelSettings: [{port: {number: 8080}, connectionPool: {http: {http2MaxRequests: 7}}}]}
            """,
            c -> {
              var th = c.getCircuitBreakers().getThresholds(0);
              assertThat(th.getMaxRequests().getValue()).isEqualTo(7);
              assertThat(th.getMaxConnections().getValue()).isEqualTo((int) 4294967295L);
              assertThat(th.getMaxPendingRequests().getValue()).isEqualTo((int) 4294967295L);
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
            }),
        row(
            "tcp.idleTimeout is the idle_timeout when http sets none",
            "{connectionPool: {tcp: {idleTimeout: 45s}}}",
            c ->
                assertThat(unpack(c).getCommonHttpProtocolOptions().getIdleTimeout().getSeconds())
                    .isEqualTo(45)),
        row(
            "http.idleTimeout wins over tcp.idleTimeout",
            "{connectionPool: {tcp: {idleTimeout: 45s}, http: {idleTimeout: 5s}}}",
            c ->
                assertThat(unpack(c).getCommonHttpProtocolOptions().getIdleTimeout().getSeconds())
                    .isEqualTo(5)),
        row(
            "warmupDurationSecs is the slow start window of LEAST_REQUEST",
            "{loadBalancer: {warmupDurationSecs: 60s}}",
            c -> {
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
              assertThat(
                      c.getLeastRequestLbConfig()
                          .getSlowStartConfig()
                          .getSlowStartWindow()
                          .getSeconds())
                  .isEqualTo(60);
            }),
        row(
            "warmupDurationSecs with ROUND_ROBIN",
            "{loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s}}",
            c ->
                assertThat(
                        c.getRoundRobinLbConfig()
                            .getSlowStartConfig()
                            .getSlowStartWindow()
                            .getSeconds())
                    .isEqualTo(30)),
        row(
            "ringHash minimumRingSize",
            "{loadBalancer: {consistentHash: {httpHeaderName: x-user, minimumRingSize: 2048}}}",
            c -> {
              assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
              assertThat(c.getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(2048);
            }),
        row(
            "the first port-level entry for the port wins",
            """
            {portLevelSettings: [{port: {number: 8080}, loadBalancer: {simple: ROUND_ROBIN}}, {port: {number: 8080}, loadBalancer: {simple: RANDOM}}]}
            """,
            c -> assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN)));
  }

  @Test
  void aSubsetPortLevelEntryReplacesAllFourFields() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: product-service
        spec:
          host: product-service
          trafficPolicy:
            outlierDetection: {consecutive5xxErrors: 3}
            loadBalancer: {simple: RANDOM}
          subsets:
          - name: v1
            labels: {version: v1}
            trafficPolicy:
              connectionPool: {tcp: {maxConnections: 4}}
          - name: v2
            labels: {version: v2}
            trafficPolicy:
              connectionPool: {tcp: {maxConnections: 4}}
              portLevelSettings:
              - port: {number: 8080}
                loadBalancer: {simple: ROUND_ROBIN}
        """;
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, dr);
    XdsResources r =
        XdsGenerator.generate(config, Fixtures.productPods(), Fixtures.frontendSidecar());
    // v1: the subset's connectionPool over the inherited top-level outlier detection and LB
    Cluster v1 = r.cluster("outbound|8080|v1|product-service.default.svc.cluster.local");
    assertThat(v1.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    assertThat(v1.hasOutlierDetection()).isTrue();
    assertThat(v1.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue())
        .isEqualTo(4);
    // v2: its port-level entry replaces everything, inherited or its own
    Cluster v2 = r.cluster("outbound|8080|v2|product-service.default.svc.cluster.local");
    assertThat(v2.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    assertThat(v2.hasOutlierDetection()).isFalse();
    assertThat(v2.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue())
        .isEqualTo((int) 4294967295L);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void translates(String name, String policy, Consumer<Cluster> check) {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: product-service
        spec:
          host: product-service
          %s
          subsets:
          - name: v1
            labels: {version: v1}
          - name: v2
            labels: {version: v2}
            trafficPolicy: {loadBalancer: {simple: RANDOM}}
        """
            .formatted(
                policy.equals("{}") ? "" : "trafficPolicy: " + policy.strip().replace("\n", " "));
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, dr);
    XdsResources r =
        XdsGenerator.generate(config, Fixtures.productPods(), Fixtures.frontendSidecar());
    check.accept(r.cluster(CLUSTER));
    // subset clusters carry their subset, and the subset's own policy wins
    Cluster v2 = r.cluster("outbound|8080|v2|product-service.default.svc.cluster.local");
    assertThat(v2.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    assertThat(
            v2.getMetadata()
                .getFilterMetadataOrThrow("istio")
                .getFieldsOrThrow("subset")
                .getStringValue())
        .isEqualTo("v2");
  }

  static HttpProtocolOptions unpack(Cluster c) {
    try {
      return c.getTypedExtensionProtocolOptionsOrThrow(
              "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
          .unpack(HttpProtocolOptions.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  static UpstreamTlsContext unpackTls(Cluster c) {
    try {
      return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
