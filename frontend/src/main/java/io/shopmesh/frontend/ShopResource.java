package io.shopmesh.frontend;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

/** The JSON endpoints behind the shop page (the page itself is {@link ShopPage}). */
@Path("/")
public class ShopResource {

  private static final Logger LOG = Logger.getLogger(ShopResource.class);

  private final CatalogService catalog;
  private final OrderClient orders;
  private final PremiumUsers premiumUsers;

  public ShopResource(
      CatalogService catalog, @RestClient OrderClient orders, PremiumUsers premiumUsers) {
    this.catalog = catalog;
    this.orders = orders;
    this.premiumUsers = premiumUsers;
  }

  @GET
  @Path("products")
  @Produces(MediaType.APPLICATION_JSON)
  @Operation(summary = "product-service's product list, passed through (fallback when it is down)")
  public Response products(@Context HttpHeaders headers) {
    boolean premium = premiumUsers.isPremium(headers);
    CatalogService.Products p = catalog.list(premium);
    Response.ResponseBuilder res =
        Response.ok(p.json(), MediaType.APPLICATION_JSON_TYPE)
            .header("x-user-type", premium ? "premium" : "regular")
            .header("Cache-Control", "no-store");
    p.version().ifPresent(v -> res.header("x-product-version", v));
    if (p.fallback()) {
      res.header("x-fallback", "true");
    }
    return res.build();
  }

  @GET
  @Path("whoami")
  @Produces(MediaType.APPLICATION_JSON)
  @Operation(summary = "The current user and whether they count as premium")
  public Map<String, Object> whoami(@Context HttpHeaders headers) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("user", premiumUsers.user(headers).orElse(null));
    m.put("premium", premiumUsers.isPremium(headers));
    return m;
  }

  @POST
  @Path("orders")
  @Consumes(MediaType.APPLICATION_JSON)
  @Produces(MediaType.APPLICATION_JSON)
  @Operation(summary = "Place an order through order-service (answer passed through)")
  public Response createOrder(String body) {
    return passThrough(() -> orders.create(body));
  }

  @GET
  @Path("orders")
  @Produces(MediaType.APPLICATION_JSON)
  public Response listOrders() {
    return passThrough(orders::list);
  }

  @GET
  @Path("orders/{id}")
  @Produces(MediaType.APPLICATION_JSON)
  public Response getOrder(@PathParam("id") String id) {
    return passThrough(() -> orders.get(id));
  }

  /**
   * Copies status, body, content type and Location (mapped onto /orders/...) from order-service.
   */
  private static Response passThrough(Supplier<Response> call) {
    Response upstream;
    try {
      upstream = call.get();
    } catch (WebApplicationException e) {
      upstream = e.getResponse();
    } catch (ProcessingException e) {
      LOG.warnf("order-service unreachable: %s", e.toString());
      return Response.status(503)
          .type("application/problem+json")
          .entity(
              "{\"type\":\"about:blank\",\"title\":\"Order service unavailable\",\"status\":503,"
                  + "\"detail\":\"order-service could not be reached\"}")
          .build();
    }
    try (Response res = upstream) {
      String body = res.hasEntity() ? res.readEntity(String.class) : null;
      Response.ResponseBuilder out = Response.status(res.getStatus()).entity(body);
      String type = res.getHeaderString("Content-Type");
      if (type != null) {
        out.header("Content-Type", type);
      }
      String location = res.getHeaderString("Location");
      if (location != null) {
        int i = location.indexOf("/api/orders/");
        out.header("Location", i >= 0 ? location.substring(i + 4) : location);
      }
      return out.build();
    }
  }
}
