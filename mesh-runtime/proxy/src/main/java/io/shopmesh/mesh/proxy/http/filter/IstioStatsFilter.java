package io.shopmesh.mesh.proxy.http.filter;

import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.HttpFilter;
import io.shopmesh.mesh.proxy.http.HttpFilterChains;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.http.StreamInfo;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.stats.PeerLabels;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Istio's telemetry filter (istio.stats with the peer metadata exchange): sends this workload's
 * x-envoy-peer-metadata upstream, learns the peer from the downstream request (inbound) or the
 * upstream response (outbound, gateway), and records istio_requests_total and friends when the
 * stream completes, reporter source or destination.
 */
public final class IstioStatsFilter implements HttpFilter {
  static final String PEER_METADATA = IstioMetadata.PEER_METADATA_HEADER;
  static final String PEER_METADATA_ID = IstioMetadata.PEER_METADATA_ID_HEADER;

  /** Per proxy: this workload's labels and its peer metadata, encoded once. */
  public static final class Config {
    // Sent on every outbound request: kept as Netty AsciiStrings, validated and encoded once
    // (bulk byte copies) rather than char by char on each request.
    private static final CharSequence PEER_METADATA_NAME =
        HttpHeaders.createOptimized(PEER_METADATA);
    private static final CharSequence PEER_METADATA_ID_NAME =
        HttpHeaders.createOptimized(PEER_METADATA_ID);
    private final IstioMetrics metrics;
    private final PeerLabels self;
    private final CharSequence peerMetadataValue;
    private final CharSequence peerIdValue;

    public Config(NodeInfo node, IstioMetrics metrics) {
      this.metrics = metrics;
      this.self = PeerLabels.fromStruct(node.metadata());
      this.peerMetadataValue = HttpHeaders.createOptimized(node.peerMetadata());
      this.peerIdValue = HttpHeaders.createOptimized(node.peerId());
    }

    void addOwn(MultiMap out) {
      out.set(PEER_METADATA_ID_NAME, peerIdValue);
      out.set(PEER_METADATA_NAME, peerMetadataValue);
    }
  }

  private final Config cfg;
  private PeerLabels peer = PeerLabels.UNKNOWN;
  private boolean peerKnown;

  public IstioStatsFilter(Config cfg) {
    this.cfg = cfg;
  }

  @Override
  public String name() {
    return HttpFilterChains.STATS;
  }

  @Override
  public Status decodeHeaders(HttpStream s) {
    if (s.direction() == Direction.INBOUND) {
      learn(s.request().headers().get(PEER_METADATA));
    }
    return Status.CONTINUE;
  }

  @Override
  public void encodeUpstreamHeaders(HttpStream s, MultiMap out) {
    if (s.direction() == Direction.INBOUND) {
      // The peer's metadata stops here: the app never sees it.
      out.remove(PEER_METADATA);
      out.remove(PEER_METADATA_ID);
    } else {
      cfg.addOwn(out);
    }
  }

  @Override
  public void encodeHeaders(HttpStream s, MultiMap out, MultiMap upstream) {
    if (upstream == null) {
      return;
    }
    if (s.direction() != Direction.INBOUND) {
      learn(upstream.get(PEER_METADATA));
      out.remove(PEER_METADATA);
      out.remove(PEER_METADATA_ID);
    } else if (s.request().headers().contains(PEER_METADATA_ID)) {
      cfg.addOwn(out);
    }
  }

  private void learn(String header) {
    PeerLabels p = PeerLabels.fromHeader(header);
    if (p != null) {
      peer = p;
      peerKnown = true;
    }
  }

  @Override
  public void onStreamComplete(HttpStream s, int status) {
    cfg.metrics.record(
        labels(s, status),
        s.durationMs(),
        s.info().requestHeaderBytes() + s.info().bytesReceived(),
        s.info().responseHeaderBytes() + s.info().bytesSent());
  }

  Map<String, String> labels(HttpStream s, int status) {
    Map<String, String> l = new LinkedHashMap<>();
    boolean source = s.direction() != Direction.INBOUND;
    PeerLabels self = cfg.self;
    PeerLabels src = source ? self : peer;
    PeerLabels dst = source ? destinationPeer(s.info()) : self;
    l.put("response_code", Integer.toString(status));
    PeerLabels.putPeers(l, source, src, dst);
    UpstreamCluster cluster = s.cluster();
    String svcHost =
        cluster != null && cluster.serviceHost != null ? cluster.serviceHost : s.target().host();
    String svcName = cluster != null && cluster.serviceName != null ? cluster.serviceName : svcHost;
    String svcNs =
        cluster != null && cluster.serviceNamespace != null
            ? cluster.serviceNamespace
            : (source ? "unknown" : self.namespace());
    if (svcHost == null || svcHost.isEmpty()) {
      svcHost = "unknown";
      svcName = "unknown";
    }
    l.put("destination_service", svcHost);
    l.put("destination_service_name", svcName);
    l.put("destination_service_namespace", svcNs);
    l.put("destination_cluster", dst.cluster());
    String ct = s.request().headers().get("content-type");
    l.put("request_protocol", ct != null && ct.startsWith("application/grpc") ? "grpc" : "http");
    l.put("response_flags", ResponseFlags.toString(s.info().responseFlags()));
    l.put("grpc_response_status", "");
    l.put("connection_security_policy", source ? "unknown" : "none");
    l.put("source_canonical_service", src.canonicalService());
    l.put("destination_canonical_service", dst.canonicalService());
    l.put("source_canonical_revision", src.canonicalRevision());
    l.put("destination_canonical_revision", dst.canonicalRevision());
    return l;
  }

  private PeerLabels destinationPeer(StreamInfo info) {
    if (peerKnown) {
      return peer;
    }
    if (info.lastHost() != null && !info.lastHost().workloadMeta.isEmpty()) {
      return PeerLabels.fromWorkloadMeta(info.lastHost().workloadMeta);
    }
    return PeerLabels.UNKNOWN;
  }
}
