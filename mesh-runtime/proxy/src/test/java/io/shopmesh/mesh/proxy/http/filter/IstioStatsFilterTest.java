package io.shopmesh.mesh.proxy.http.filter;

import static io.shopmesh.mesh.proxy.Shapes.prefix;
import static io.shopmesh.mesh.proxy.Shapes.route;
import static io.shopmesh.mesh.proxy.Shapes.toCluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.FilterHarness;
import java.util.List;
import org.junit.jupiter.api.Test;

class IstioStatsFilterTest {

  static FilterHarness harness(Direction d) throws Exception {
    return new FilterHarness(
        d,
        List.of(route("r", prefix("/"), toCluster("c", 0).build())),
        ctx -> new IstioStatsFilter(new IstioStatsFilter.Config(ctx.node(), ctx.metrics())));
  }

  @Test
  void outboundSendsOwnPeerMetadataAndReportsAsSource() throws Exception {
    try (FilterHarness h = harness(Direction.OUTBOUND)) {
      h.send("GET", "/x", "x-envoy-peer-metadata-id", "spoofed");
      assertThat(h.upstreamHeaders.get("x-envoy-peer-metadata-id")).isEqualTo(h.node.peerId());
      assertThat(h.upstreamHeaders.get("x-envoy-peer-metadata")).isEqualTo(h.node.peerMetadata());
      String prom = h.metrics.prometheus();
      assertThat(prom)
          .contains("istio_requests_total{")
          .contains("reporter=\"source\"")
          .contains("source_workload=\"frontend\"")
          .contains("response_code=\"200\"");
    }
  }

  @Test
  void inboundStripsPeerMetadataAndLearnsThePeer() throws Exception {
    String peerMeta;
    String peerId;
    try (FilterHarness peer = harness(Direction.OUTBOUND)) {
      peerMeta = peer.node.peerMetadata();
      peerId = peer.node.peerId();
    }
    try (FilterHarness h = harness(Direction.INBOUND)) {
      var r =
          h.send(
              "GET", "/x", "x-envoy-peer-metadata", peerMeta, "x-envoy-peer-metadata-id", peerId);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(h.upstreamHeaders.contains("x-envoy-peer-metadata")).isFalse();
      assertThat(h.upstreamHeaders.contains("x-envoy-peer-metadata-id")).isFalse();
      assertThat(h.metrics.prometheus())
          .contains("reporter=\"destination\"")
          .contains("source_workload=\"frontend\"");
    }
  }
}
