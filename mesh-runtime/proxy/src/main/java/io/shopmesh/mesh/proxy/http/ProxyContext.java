package io.shopmesh.mesh.proxy.http;

import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.trace.DecisionRecords;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.vertx.core.Vertx;

/** What the connection manager and its filters share for the life of the proxy. */
public record ProxyContext(
    Vertx vertx,
    XdsState xds,
    NodeInfo node,
    ProxyOptions opts,
    IstioMetrics metrics,
    AccessLog accessLog,
    DecisionRecords records) {}
