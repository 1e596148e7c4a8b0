package io.shopmesh.product;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;

/** Adds x-product-version (and x-product-pod) to every REST answer, errors included. */
@Provider
public class VersionHeaderFilter implements ContainerResponseFilter {

  private final ServingInstance instance;

  public VersionHeaderFilter(ServingInstance instance) {
    this.instance = instance;
  }

  @Override
  public void filter(ContainerRequestContext req, ContainerResponseContext res) {
    res.getHeaders().putSingle(ProductResource.VERSION_HEADER, instance.version());
    res.getHeaders().putSingle("x-product-pod", instance.pod());
  }
}
