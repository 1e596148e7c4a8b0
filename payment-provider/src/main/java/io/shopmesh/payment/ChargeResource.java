package io.shopmesh.payment;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.math.BigDecimal;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/v1/charges")
@Produces(MediaType.APPLICATION_JSON)
public class ChargeResource {

  public static final String IDEMPOTENCY_KEY = "Idempotency-Key";
  public static final String REPLAYED = "Idempotent-Replayed";

  static final AtomicLong REQUESTS = new AtomicLong();

  private final ChargeService charges;
  private final FaultInjector faults;

  public ChargeResource(ChargeService charges, FaultInjector faults) {
    this.charges = charges;
    this.faults = faults;
  }

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(summary = "Charge; a repeated Idempotency-Key returns the first result")
  public Response create(@HeaderParam(IDEMPOTENCY_KEY) String key, ChargeRequest req)
      throws InterruptedException {
    REQUESTS.incrementAndGet();
    if (req == null || req.amount() == null || req.amount().compareTo(BigDecimal.ZERO) <= 0) {
      return Problem.of(400, "Invalid charge", "amount must be a positive number");
    }
    FaultInjector.Decision d = faults.decide();
    if (d.latencyMs() > 0) {
      Thread.sleep(d.latencyMs());
    }
    if (d.errorStatus() != null && d.phase() == FaultInjector.Phase.before) {
      return injected(d, "before charging: nothing was charged");
    }
    ChargeService.Result result;
    try {
      result = charges.charge(key, req);
    } catch (ChargeService.KeyReuseException e) {
      return Problem.of(422, "Idempotency key reused", e.getMessage());
    }
    if (d.errorStatus() != null) {
      return injected(d, "after charging " + result.charge().id() + ": the answer was lost");
    }
    // The same status and body as the first answer; the header tells a replay apart.
    return Response.created(URI.create("/v1/charges/" + result.charge().id()))
        .entity(result.charge())
        .header(REPLAYED, String.valueOf(result.replayed()))
        .build();
  }

  private static Response injected(FaultInjector.Decision d, String when) {
    return Response.fromResponse(
            Problem.of(d.errorStatus(), "Injected fault", "Fault injected " + when))
        .header("x-injected-fault", d.phase().name())
        .build();
  }

  /**
   * Lists charges, like Stripe's list API ({"object":"list","data":[...]}); with idempotencyKey,
   * the charge made for that key (none or one). A client whose charge answer was lost asks here
   * whether it was charged, without risking a second charge.
   */
  @GET
  @Operation(summary = "List charges; ?idempotencyKey=K gives the charge made for K (0 or 1)")
  public Map<String, Object> list(@QueryParam("idempotencyKey") String key) {
    List<Charge> data =
        key == null ? List.copyOf(charges.all()) : charges.findByKey(key).stream().toList();
    return Map.of("object", "list", "data", data);
  }

  @GET
  @Path("/{id}")
  @Operation(summary = "One charge by id")
  public Response get(@PathParam("id") String id) {
    return charges
        .find(id)
        .map(c -> Response.ok(c).build())
        .orElseGet(() -> Problem.of(404, "Charge not found", "No charge with id '" + id + "'"));
  }

  @GET
  @Path("/count")
  @Operation(summary = "How many charges were made (replays do not count)")
  public Map<String, Long> count() {
    return Map.of("count", charges.count());
  }
}
