package io.shopmesh.mesh.meshctl.prom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SelectorTest {

  static final String TEXT =
      """
      # HELP istio_requests_total Total requests.
      # TYPE istio_requests_total counter
      istio_requests_total{reporter="source",destination_service="product-service.default.svc.cluster.local",destination_version="v1",response_code="200"} 80
      istio_requests_total{reporter="source",destination_service="product-service.default.svc.cluster.local",destination_version="v2",response_code="200"} 20
      istio_requests_total{reporter="destination",destination_service="product-service.default.svc.cluster.local",destination_version="v1",response_code="200"} 79
      istio_requests_total{reporter="source",destination_service="frontend.default.svc.cluster.local",destination_version="v1",response_code="503"} 1
      istio_request_duration_milliseconds_bucket{le="+Inf"} 5
      weird_line_with_escape{path="a\\"b"} 1.5e2
      """;

  @Test
  void parsesTheTextFormat() {
    List<PromText.Sample> s = PromText.parse(TEXT);
    assertThat(s).hasSize(6);
    assertThat(s.get(5).labels()).containsEntry("path", "a\"b");
    assertThat(s.get(5).value()).isEqualTo(150.0);
  }

  @Test
  void theWalkthroughsQuery() {
    List<PromText.Sample> s = PromText.parse(TEXT);
    Selector v1 =
        Selector.parse(
            "istio_requests_total{destination_service=\"product-service.default.svc.cluster.local\", destination_version=\"v1\"}");
    assertThat(v1.sum(s)).isEqualTo(159.0);
    Selector src =
        Selector.parse(
            "istio_requests_total{reporter=\"source\",destination_service=~\"product-.*\"}");
    Map<List<String>, Double> by = src.sumBy(s, List.of("destination_version"));
    assertThat(by).containsEntry(List.of("v1"), 80.0).containsEntry(List.of("v2"), 20.0);
    assertThat(Selector.parse("istio_requests_total{response_code!=\"200\"}").sum(s))
        .isEqualTo(1.0);
    assertThat(Selector.parse("istio_requests_total").sum(s)).isEqualTo(180.0);
  }

  @Test
  void rejectsUnquotedValues() {
    assertThatThrownBy(() -> Selector.parse("m{a=b}")).isInstanceOf(IllegalArgumentException.class);
  }
}
