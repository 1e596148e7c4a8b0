package io.shopmesh.order.client;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.rest.client.annotation.RegisterClientHeaders;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * The external payment API, called as plain http://api.payment-provider.com: in the mesh the
 * sidecar applies payment-vs (timeout, retries) and originates TLS to port 443. No retry here.
 */
@RegisterRestClient(configKey = "payment-api")
@RegisterClientHeaders
@Path("/v1/charges")
public interface PaymentClient {

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  @Produces(MediaType.APPLICATION_JSON)
  ChargeResponse charge(@HeaderParam("Idempotency-Key") String idempotencyKey, ChargeRequest req);

  /** The charge made for a key, if any: asking never charges. */
  @GET
  @Produces(MediaType.APPLICATION_JSON)
  ChargeList findByKey(@QueryParam("idempotencyKey") String idempotencyKey);
}
