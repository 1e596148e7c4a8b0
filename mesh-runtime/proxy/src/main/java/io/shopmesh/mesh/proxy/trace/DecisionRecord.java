package io.shopmesh.mesh.proxy.trace;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * What one proxy decided for one request, and why: listener and filter chain, route config, the
 * virtual host, every route considered with the reason its match failed, the route taken and the
 * config it came from, faults, the weighted pick, the cluster and endpoint of each attempt with its
 * outcome, timeouts, mirrors, and the final status. Kept as JSON, as {@code /debug/requests} serves
 * it. Written on the request's event loop only; published to {@link DecisionRecords} when the
 * stream ends.
 */
public final class DecisionRecord {
  private final JsonObject json = new JsonObject();
  private final JsonArray routes = new JsonArray();
  private final JsonArray attempts = new JsonArray();
  private final JsonArray faults = new JsonArray();
  private final JsonArray mirrors = new JsonArray();
  private JsonObject lastAttempt;

  public DecisionRecord(String node, String role, String direction, String listener) {
    json.put("start", Instant.now().toString())
        .put("node", node)
        .put("role", role)
        .put("direction", direction)
        .put("listener", listener);
  }

  public String requestId() {
    return json.getString("request_id");
  }

  public void request(String requestId, String method, String authority, String path) {
    json.put("request_id", requestId)
        .put("method", method)
        .put("authority", authority)
        .put("path", path);
  }

  public void filterChain(String name) {
    json.put("filter_chain", name);
  }

  public void routeConfig(String name) {
    json.put("route_config", name);
  }

  /** The virtual host the Host selected (null: none did). */
  public void virtualHost(String name) {
    json.put("virtual_host", name);
  }

  /** A route whose match failed, with the first reason. */
  public void routeMissed(String name, String reason) {
    routes.add(new JsonObject().put("name", name).put("matched", false).put("reason", reason));
  }

  /** The route taken, with where its rule came from (istio config, file:line), may be empty. */
  public void routeTaken(String name, JsonObject source) {
    JsonObject r = new JsonObject().put("name", name).put("matched", true);
    if (source != null && !source.isEmpty()) {
      r.put("source", source);
    }
    routes.add(r);
    json.put("route", r);
  }

  /** The weighted clusters (name to weight) and the one drawn. */
  public void weightedPick(JsonArray weights, String picked) {
    json.put("weighted_clusters", new JsonObject().put("weights", weights).put("picked", picked));
  }

  public void cluster(String name) {
    json.put("cluster", name);
  }

  /** A fault of the route: its kind, whether it was drawn and whether it applied. */
  public void fault(String kind, boolean drawn, String detail) {
    faults.add(new JsonObject().put("kind", kind).put("applied", drawn).put("detail", detail));
  }

  public void timeouts(long routeMs, long perTryMs) {
    json.put("timeouts", new JsonObject().put("route_ms", routeMs).put("per_try_ms", perTryMs));
  }

  public void mirror(String cluster, boolean sampled) {
    mirrors.add(new JsonObject().put("cluster", cluster).put("sampled", sampled));
  }

  /** The load balancer's choice for an attempt. */
  public void attempt(int n, String lbPolicy, int candidates, String endpoint, String workload) {
    lastAttempt =
        new JsonObject()
            .put("attempt", n)
            .put("start", Instant.now().toString())
            .put("startNanos", System.nanoTime())
            .put("lb_policy", lbPolicy)
            .put("candidates", candidates)
            .put("endpoint", endpoint);
    if (workload != null) {
      lastAttempt.put("workload", workload);
    }
    attempts.add(lastAttempt);
  }

  /**
   * How the last attempt ended: its status (0: none), response flags, and the retry decision
   * ("retry: 503" or why not).
   */
  public void attemptOutcome(int status, String flags, String retry) {
    if (lastAttempt == null || lastAttempt.containsKey("status")) {
      return;
    }
    Long t0 = (Long) lastAttempt.remove("startNanos");
    lastAttempt
        .put("duration_ms", t0 == null ? 0 : (System.nanoTime() - t0) / 1_000_000)
        .put("status", status)
        .put("flags", flags)
        .put("retry", retry);
  }

  /**
   * The authorization decision (AuthorizationPolicy: policy name, action, allowed), when the chain
   * enforces one.
   */
  public void authorization(JsonObject decision) {
    json.put("authorization", decision);
  }

  /** The connection's mTLS (peer identity, mode), when the connection carries it. */
  public void mtls(JsonObject peer) {
    json.put("mtls", peer);
  }

  /** The end of the stream: status, flags, details. */
  public void end(int status, String flags, String details, long durationMs) {
    if (lastAttempt != null && !lastAttempt.containsKey("status")) {
      attemptOutcome(status, flags, "none: request ended");
    }
    json.put("status", status)
        .put("flags", flags)
        .put("details", details)
        .put("duration_ms", durationMs);
  }

  public JsonObject toJson() {
    JsonObject out = json.copy();
    if (!routes.isEmpty()) {
      out.put("routes_considered", routes.copy());
    }
    if (!faults.isEmpty()) {
      out.put("faults", faults.copy());
    }
    if (!mirrors.isEmpty()) {
      out.put("mirrors", mirrors.copy());
    }
    if (!attempts.isEmpty()) {
      out.put("attempts", attempts.copy());
    }
    return out;
  }
}
