package io.shopmesh.order.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.order.model.ShopOrder;
import io.shopmesh.order.service.FieldError;
import io.shopmesh.order.service.OrderException;
import io.shopmesh.order.service.OrderService;
import io.shopmesh.order.service.OrderValidator;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import java.util.stream.Collectors;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/api/orders")
@Produces(MediaType.APPLICATION_JSON)
public class OrderResource {

  private final OrderService orders;
  private final ObjectMapper mapper;

  public OrderResource(OrderService orders, ObjectMapper mapper) {
    this.orders = orders;
    this.mapper = mapper;
  }

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(summary = "Place an order {productId, quantity, customer}: 201 + Location")
  public Response create(String body, @Context UriInfo uri) {
    String path = uri.getRequestUri().getPath();
    JsonNode json;
    try {
      json = body == null || body.isBlank() ? null : mapper.readTree(body);
    } catch (JsonProcessingException e) {
      return Problem.of(400, "Malformed JSON", e.getOriginalMessage(), path, null);
    }
    if (json == null || !json.isObject()) {
      return Problem.of(400, "Invalid order", "The body must be a JSON object", path, null);
    }
    List<FieldError> errors = OrderValidator.validate(json);
    if (!errors.isEmpty()) {
      return invalid(errors, path);
    }
    try {
      ShopOrder order = orders.place(OrderValidator.toRequest(json));
      return Response.created(uri.getBaseUriBuilder().path("api/orders").path(order.id).build())
          .entity(OrderView.of(order))
          .build();
    } catch (OrderException e) {
      return Problem.of(e.status(), e.title(), e.getMessage(), path, e.errors());
    }
  }

  static Response invalid(List<FieldError> errors, String path) {
    String fields = errors.stream().map(FieldError::field).collect(Collectors.joining(", "));
    String detail =
        "Invalid fields: "
            + fields
            + " ("
            + errors.stream()
                .map(e -> e.field() + " " + e.message())
                .collect(Collectors.joining("; "))
            + ")";
    return Problem.of(400, "Invalid order", detail, path, errors);
  }

  @GET
  @Operation(summary = "All orders, newest first")
  public List<OrderView> list() {
    return orders.all().stream().map(OrderView::of).toList();
  }

  @GET
  @Path("/{id}")
  @Operation(summary = "One order; 404 problem+json when unknown")
  public Response get(@PathParam("id") String id, @Context UriInfo uri) {
    return orders
        .find(id)
        .map(o -> Response.ok(OrderView.of(o)).build())
        .orElseGet(() -> notFound(id, uri));
  }

  @POST
  @Path("/{id}/payment")
  @Operation(summary = "Charge a PAYMENT_FAILED order again (same Idempotency-Key)")
  public Response retryPayment(@PathParam("id") String id, @Context UriInfo uri) {
    return orders
        .retryPayment(id)
        .map(o -> Response.ok(OrderView.of(o)).build())
        .orElseGet(() -> notFound(id, uri));
  }

  private static Response notFound(String id, UriInfo uri) {
    return Problem.of(
        404,
        "Order not found",
        "No order with id '" + id + "'",
        uri.getRequestUri().getPath(),
        null);
  }
}
