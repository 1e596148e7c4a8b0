package io.shopmesh.mesh.proxy.http;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** The http_filters of one HTTP connection manager: names and factories, in decode order. */
public record HttpFilterChain(List<String> names, List<Supplier<HttpFilter>> factories) {

  /** New filter instances for one request. */
  public List<HttpFilter> create() {
    List<HttpFilter> out = new ArrayList<>(factories.size());
    for (Supplier<HttpFilter> f : factories) {
      out.add(f.get());
    }
    return out;
  }
}
