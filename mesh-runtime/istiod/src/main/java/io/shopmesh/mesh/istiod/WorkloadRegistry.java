package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pods that connected proxies announced (node metadata), by proxy id; a pod leaves when its
 * proxy disconnects. Gateway pods are registered too, without a sidecar.
 */
public final class WorkloadRegistry {

  private final Map<String, WorkloadInstance> byProxy = new ConcurrentHashMap<>();

  public void add(String proxyId, WorkloadInstance w) {
    byProxy.put(proxyId, w);
  }

  public void remove(String proxyId) {
    byProxy.remove(proxyId);
  }

  public ServiceRegistry snapshot() {
    return new ServiceRegistry(new ArrayList<>(byProxy.values()));
  }
}
