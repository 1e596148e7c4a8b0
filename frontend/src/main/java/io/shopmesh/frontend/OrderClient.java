package io.shopmesh.frontend;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.rest.client.annotation.RegisterClientHeaders;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/** http://order-service:8080. Answers are passed through as they are, errors included. */
@RegisterRestClient(configKey = "order-service")
@RegisterClientHeaders
@Path("/api/orders")
@Produces(MediaType.APPLICATION_JSON)
public interface OrderClient {

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  Response create(String body);

  @GET
  Response list();

  @GET
  @Path("/{id}")
  Response get(@PathParam("id") String id);
}
