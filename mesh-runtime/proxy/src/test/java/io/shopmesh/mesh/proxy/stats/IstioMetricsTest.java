package io.shopmesh.mesh.proxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The per-request fast paths: one series per label set, cumulative buckets, cached peer decoding.
 */
class IstioMetricsTest {

  @Test
  void oneSeriesPerLabelSetWithCumulativeBuckets() {
    IstioMetrics m = new IstioMetrics();
    Map<String, String> a = IstioMetrics.emptyLabels();
    a.put("response_code", "200");
    Map<String, String> b = IstioMetrics.emptyLabels();
    b.put("response_code", "503");
    m.record(a, 3, 10, 100);
    m.record(new java.util.LinkedHashMap<>(a), 30, 10, 100);
    m.record(b, 1, 10, 100);
    assertThat(m.requestCounts()).hasSize(2).containsValues(2L, 1L);
    String text = m.prometheus();
    String k = IstioMetrics.render(a);
    assertThat(text)
        .contains("istio_requests_total{" + k + "} 2\n")
        .contains("istio_request_duration_milliseconds_bucket{" + k + ",le=\"1\"} 0\n")
        .contains("istio_request_duration_milliseconds_bucket{" + k + ",le=\"5\"} 1\n")
        .contains("istio_request_duration_milliseconds_bucket{" + k + ",le=\"50\"} 2\n")
        .contains("istio_request_duration_milliseconds_bucket{" + k + ",le=\"+Inf\"} 2\n")
        .contains("istio_request_duration_milliseconds_sum{" + k + "} 33\n")
        .contains("istio_response_bytes_bucket{" + k + ",le=\"100\"} 2\n");
  }

  @Test
  void labelValuesAreEscapedOnce() {
    Map<String, String> l = IstioMetrics.emptyLabels();
    l.put("destination_service", "a\"b\\c");
    assertThat(IstioMetrics.render(l)).contains("destination_service=\"a\\\"b\\\\c\"");
  }

  @Test
  void peerHeaderDecodedAndCached() {
    Struct s =
        Struct.newBuilder()
            .putFields("WORKLOAD_NAME", Value.newBuilder().setStringValue("frontend").build())
            .putFields("NAMESPACE", Value.newBuilder().setStringValue("default").build())
            .putFields(
                "LABELS",
                Value.newBuilder()
                    .setStructValue(
                        Struct.newBuilder()
                            .putFields("app", Value.newBuilder().setStringValue("frontend").build())
                            .putFields("version", Value.newBuilder().setStringValue("v1").build()))
                    .build())
            .build();
    String header = Base64.getEncoder().encodeToString(s.toByteArray());
    PeerLabels p = PeerLabels.fromHeader(header);
    assertThat(p).isEqualTo(PeerLabels.fromStruct(s));
    assertThat(p.app()).isEqualTo("frontend");
    assertThat(PeerLabels.fromHeader(header)).isSameAs(p);
    assertThat(PeerLabels.fromHeader("not base64 !")).isNull();
    assertThat(PeerLabels.fromHeader(null)).isNull();
    assertThat(PeerLabels.fromWorkloadMeta("product-v1;default;product;v1;Kubernetes").version())
        .isEqualTo("unknown");
  }
}
