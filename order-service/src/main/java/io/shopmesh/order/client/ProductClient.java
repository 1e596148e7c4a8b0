package io.shopmesh.order.client;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.rest.client.annotation.RegisterClientHeaders;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/** http://product-service:8080 (quarkus.rest-client.product-service.url). */
@RegisterRestClient(configKey = "product-service")
@RegisterClientHeaders // propagates the tracing headers listed in application.properties
@Path("/api/products")
@Produces(MediaType.APPLICATION_JSON)
public interface ProductClient {

  @GET
  @Path("/{id}")
  ProductInfo get(@PathParam("id") int id);
}
