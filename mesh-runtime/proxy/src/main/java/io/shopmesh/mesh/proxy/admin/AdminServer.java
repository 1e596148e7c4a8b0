package io.shopmesh.mesh.proxy.admin;

import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.trace.DecisionRecords;
import io.shopmesh.mesh.proxy.upstream.ClusterManager;
import io.shopmesh.mesh.proxy.upstream.Host;
import io.shopmesh.mesh.proxy.upstream.Resolver;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.proxy.xds.ControlPlaneStatus;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** The admin endpoints (15000), readiness (15021) and Prometheus (15090). */
public final class AdminServer {
  private final ConfigDumper dumper;
  private final ClusterManager clusters;
  private final IstioMetrics metrics;
  private final BooleanSupplier ready;
  private final Supplier<ControlPlaneStatus> controlPlane;
  private DecisionRecords records = new DecisionRecords(0);

  public AdminServer(
      ConfigDumper dumper, ClusterManager clusters, IstioMetrics metrics, BooleanSupplier ready) {
    this(dumper, clusters, metrics, ready, () -> null);
  }

  /**
   * @param controlPlane the xDS stream's state (null supplier value: no xDS client, config is fed
   *     directly)
   */
  public AdminServer(
      ConfigDumper dumper,
      ClusterManager clusters,
      IstioMetrics metrics,
      BooleanSupplier ready,
      Supplier<ControlPlaneStatus> controlPlane) {
    this.dumper = dumper;
    this.clusters = clusters;
    this.metrics = metrics;
    this.ready = ready;
    this.controlPlane = controlPlane;
  }

  /** The ring {@code /debug/requests} serves. */
  public void decisionRecords(DecisionRecords r) {
    this.records = r;
  }

  public void admin(HttpServerRequest req) {
    String path = req.path();
    switch (path) {
      case "/config_dump" ->
          reply(
              req,
              200,
              "application/json",
              dumper.json(req.params().contains("include_eds") || true));
      case "/clusters" -> {
        if ("json".equals(req.getParam("format"))) {
          reply(req, 200, "application/json", clustersJson().encodePrettily());
        } else {
          reply(req, 200, "text/plain", clustersText());
        }
      }
      case "/stats" -> reply(req, 200, "text/plain", statsText());
      case "/stats/prometheus" -> reply(req, 200, "text/plain; version=0.0.4", prometheusText());
      case "/ready" -> readyReply(req);
      case "/server_info" -> reply(req, 200, "application/json", serverInfo().encodePrettily());
      case "/debug/requests" -> debugRequests(req);
      default ->
          reply(
              req,
              404,
              "text/plain",
              "invalid path. admin commands are: /clusters "
                  + "/config_dump /debug/requests /ready /server_info /stats /stats/prometheus\n");
    }
  }

  /** Decision records, newest first: {@code ?id=<x-request-id>}, {@code ?limit=N} (100). */
  private void debugRequests(HttpServerRequest req) {
    int limit = 100;
    String l = req.getParam("limit");
    if (l != null) {
      try {
        limit = Math.max(0, Integer.parseInt(l));
      } catch (NumberFormatException e) {
        reply(req, 400, "text/plain", "limit: not a number\n");
        return;
      }
    }
    reply(req, 200, "application/json", records.page(req.getParam("id"), limit).encodePrettily());
  }

  public void readiness(HttpServerRequest req) {
    if (req.path().equals("/healthz/ready")) {
      readyReply(req);
    } else {
      reply(req, 404, "text/plain", "");
    }
  }

  public void prometheus(HttpServerRequest req) {
    if (req.path().equals("/stats/prometheus")) {
      reply(req, 200, "text/plain; version=0.0.4", prometheusText());
    } else {
      reply(req, 404, "text/plain", "");
    }
  }

  /**
   * Envoy's /server_info state, plus {@code control_plane}: whether istiod is connected. Readiness
   * does not depend on it (a proxy that lost istiod keeps serving its last config).
   */
  JsonObject serverInfo() {
    JsonObject out = new JsonObject().put("state", ready.getAsBoolean() ? "LIVE" : "INITIALIZING");
    ControlPlaneStatus cp = controlPlane.get();
    if (cp != null) {
      out.put("control_plane", controlPlaneJson(cp));
    }
    return out;
  }

  static JsonObject controlPlaneJson(ControlPlaneStatus cp) {
    JsonObject versions = new JsonObject();
    cp.versions().forEach(versions::put);
    JsonObject nacks = new JsonObject();
    cp.nacks().forEach(nacks::put);
    return new JsonObject()
        .put("address", cp.address())
        .put("connected", cp.connected())
        .put("state", cp.state())
        .put("state_since", time(cp.since()))
        .put("stream_started_time", time(cp.streamStarted()))
        .put("last_ack_time", time(cp.lastAck()))
        .put("reconnect_attempts", cp.reconnectAttempts())
        .put("reconnects_total", cp.reconnects())
        .put("last_error", cp.lastError())
        .put("last_error_time", time(cp.lastErrorTime()))
        .put("versions", versions)
        .put("nacks", nacks);
  }

  private static String time(Instant t) {
    return t == null ? null : t.toString();
  }

  private String prometheusText() {
    StringBuilder sb = new StringBuilder(metrics.prometheus());
    ControlPlaneStatus cp = controlPlane.get();
    if (cp != null) {
      sb.append("# TYPE envoy_control_plane_connected_state gauge\n")
          .append("envoy_control_plane_connected_state ")
          .append(cp.connected() ? 1 : 0)
          .append('\n');
    }
    return sb.toString();
  }

  private void readyReply(HttpServerRequest req) {
    boolean r = ready.getAsBoolean();
    reply(req, r ? 200 : 503, "text/plain", r ? "LIVE\n" : "PRE_INITIALIZING\n");
  }

  private static void reply(HttpServerRequest req, int status, String type, String body) {
    req.response().setStatusCode(status).putHeader("content-type", type).end(body);
  }

  private Map<String, UpstreamCluster> sorted() {
    return new TreeMap<>(clusters.all());
  }

  /** Envoy's text format: cluster::host::stat::value lines. */
  String clustersText() {
    StringBuilder sb = new StringBuilder();
    for (UpstreamCluster c : sorted().values()) {
      String n = c.name;
      sb.append(n).append("::observability_name::").append(n).append('\n');
      sb.append(n).append("::outlier::success_rate_average::-1\n");
      sb.append(n).append("::outlier::success_rate_ejection_threshold::-1\n");
      sb.append(n)
          .append("::default_priority::max_connections::")
          .append(c.maxConnections)
          .append('\n');
      sb.append(n)
          .append("::default_priority::max_pending_requests::")
          .append(c.maxPending)
          .append('\n');
      sb.append(n).append("::default_priority::max_requests::").append(c.maxRequests).append('\n');
      sb.append(n).append("::default_priority::max_retries::").append(c.maxRetries).append('\n');
      sb.append(n).append("::added_via_api::true\n");
      for (Host h : c.hosts()) {
        String p = n + "::" + h.key() + "::";
        sb.append(p).append("cx_active::").append(h.cxActive.get()).append('\n');
        sb.append(p).append("cx_connect_fail::").append(h.cxConnectFail.get()).append('\n');
        sb.append(p).append("rq_active::").append(h.active.get()).append('\n');
        sb.append(p).append("rq_error::").append(h.rqError.get()).append('\n');
        sb.append(p).append("rq_success::").append(h.rqSuccess.get()).append('\n');
        sb.append(p).append("rq_timeout::").append(h.rqTimeout.get()).append('\n');
        sb.append(p).append("rq_total::").append(h.rqTotal.get()).append('\n');
        sb.append(p).append("hostname::").append(h.hostname == null ? "" : h.hostname).append('\n');
        sb.append(p).append("health_flags::").append(healthFlags(h)).append('\n');
        sb.append(p).append("weight::").append(h.weight).append('\n');
        sb.append(p).append("region::\n");
        sb.append(p).append("zone::\n");
        sb.append(p).append("sub_zone::\n");
        sb.append(p).append("canary::false\n");
        sb.append(p).append("priority::0\n");
        sb.append(p).append("success_rate::-1\n");
        sb.append(p).append("local_origin_success_rate::-1\n");
      }
    }
    return sb.toString();
  }

  static String healthFlags(Host h) {
    if (!h.edsHealthy && h.ejected()) {
      return "/failed_eds_health/failed_outlier_check";
    }
    if (!h.edsHealthy) {
      return "/failed_eds_health";
    }
    if (h.ejected()) {
      return "/failed_outlier_check";
    }
    return "healthy";
  }

  /** Envoy's /clusters?format=json shape (cluster_statuses with host_statuses). */
  JsonObject clustersJson() {
    JsonArray statuses = new JsonArray();
    for (UpstreamCluster c : sorted().values()) {
      JsonArray hosts = new JsonArray();
      for (Host h : c.hosts()) {
        JsonObject health =
            new JsonObject().put("eds_health_status", h.edsHealthy ? "HEALTHY" : "UNHEALTHY");
        if (h.ejected()) {
          health.put("failed_outlier_check", true);
        }
        hosts.add(
            new JsonObject()
                .put(
                    "address",
                    new JsonObject()
                        .put(
                            "socket_address",
                            new JsonObject().put("address", h.address).put("port_value", h.port)))
                .put(
                    "stats",
                    new JsonArray()
                        .add(stat("cx_connect_fail", h.cxConnectFail.get()))
                        .add(stat("rq_active", h.active.get()))
                        .add(stat("rq_error", h.rqError.get()))
                        .add(stat("rq_success", h.rqSuccess.get()))
                        .add(stat("rq_timeout", h.rqTimeout.get()))
                        .add(stat("rq_total", h.rqTotal.get())))
                .put("health_status", health)
                .put("weight", h.weight)
                .put("hostname", h.hostname == null ? "" : h.hostname)
                .put("outlier_ejections", h.ejectionCount()));
      }
      statuses.add(
          new JsonObject()
              .put("name", c.name)
              .put("added_via_api", true)
              .put("observability_name", c.name)
              .put("host_statuses", hosts));
    }
    return new JsonObject().put("cluster_statuses", statuses);
  }

  private static JsonObject stat(String name, long v) {
    return new JsonObject().put("name", name).put("value", Long.toString(v));
  }

  String statsText() {
    StringBuilder sb = new StringBuilder();
    for (UpstreamCluster c : sorted().values()) {
      String p = "cluster." + c.name + ".";
      sb.append(p).append("upstream_rq_total: ").append(c.rqTotal()).append('\n');
      sb.append(p).append("upstream_rq_active: ").append(c.activeRequests()).append('\n');
      sb.append(p).append("upstream_rq_retry: ").append(c.retries()).append('\n');
      sb.append(p).append("upstream_rq_pending_overflow: ").append(c.overflow()).append('\n');
      sb.append(p)
          .append("outlier_detection.ejections_total: ")
          .append(c.ejectionsTotal())
          .append('\n');
      sb.append(p).append("membership_total: ").append(c.hosts().size()).append('\n');
      long healthy = c.hosts().stream().filter(Host::healthy).count();
      sb.append(p).append("membership_healthy: ").append(healthy).append('\n');
    }
    ControlPlaneStatus cp = controlPlane.get();
    if (cp != null) {
      sb.append("control_plane.connected_state: ").append(cp.connected() ? 1 : 0).append('\n');
      sb.append("control_plane.reconnect_attempts: ").append(cp.reconnectAttempts()).append('\n');
      sb.append("control_plane.reconnects_total: ").append(cp.reconnects()).append('\n');
    }
    Resolver r = clusters.resolver();
    sb.append("dns.cares.pending_resolutions: ").append(r.pending()).append('\n');
    sb.append("dns.cares.resolve_total: ").append(r.resolveTotal.get()).append('\n');
    sb.append("dns.cares.not_found: ").append(r.notFound.get()).append('\n');
    sb.append("dns.cares.get_addr_failure: ").append(r.failures.get()).append('\n');
    sb.append("dns.tracked_names: ").append(r.trackedNames()).append('\n');
    metrics.counters().forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
    metrics
        .requestCounts()
        .forEach(
            (k, v) ->
                sb.append("istio_requests_total{").append(k).append("}: ").append(v).append('\n'));
    return sb.toString();
  }
}
