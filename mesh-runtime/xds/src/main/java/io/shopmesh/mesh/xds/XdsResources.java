package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;

/** Everything one proxy gets: LDS, RDS, CDS and EDS resources. */
public record XdsResources(
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints) {

  public XdsResources {
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
    clusters = List.copyOf(clusters);
    endpoints = List.copyOf(endpoints);
  }

  public Listener listener(String name) {
    return listeners.stream().filter(l -> l.getName().equals(name)).findFirst().orElse(null);
  }

  public RouteConfiguration route(String name) {
    return routes.stream().filter(r -> r.getName().equals(name)).findFirst().orElse(null);
  }

  public Cluster cluster(String name) {
    return clusters.stream().filter(c -> c.getName().equals(name)).findFirst().orElse(null);
  }

  public ClusterLoadAssignment endpoints(String cluster) {
    return endpoints.stream()
        .filter(e -> e.getClusterName().equals(cluster))
        .findFirst()
        .orElse(null);
  }
}
