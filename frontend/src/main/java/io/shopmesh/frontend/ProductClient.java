package io.shopmesh.frontend;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.rest.client.annotation.RegisterClientHeaders;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/** http://product-service:8080; product-vs decides v1 or v2 (and premium users go to v2). */
@RegisterRestClient(configKey = "product-service")
@RegisterClientHeaders // forwards the tracing headers listed in application.properties
@Path("/api/products")
public interface ProductClient {

  /** userType is "premium" or null (a null header is not sent). */
  @GET
  @Produces(MediaType.APPLICATION_JSON)
  Response list(@HeaderParam("user-type") String userType);
}
