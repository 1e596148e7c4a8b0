package io.shopmesh.mesh.proxy.trace;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The last N decision records of a proxy (a ring; N = 0 keeps none and records nothing), served on
 * the admin port at {@code /debug/requests}. Event loops add, the admin reads: one lock.
 */
public final class DecisionRecords {
  private final int capacity;
  private final ArrayDeque<DecisionRecord> ring;

  public DecisionRecords(int capacity) {
    this.capacity = Math.max(0, capacity);
    this.ring = new ArrayDeque<>(Math.min(this.capacity, 1024));
  }

  public boolean enabled() {
    return capacity > 0;
  }

  public void add(DecisionRecord r) {
    if (capacity == 0) {
      return;
    }
    synchronized (ring) {
      if (ring.size() == capacity) {
        ring.removeFirst();
      }
      ring.addLast(r);
    }
  }

  /** Newest first; only those with the x-request-id when id is not null; at most limit. */
  public JsonArray find(String id, int limit) {
    JsonArray out = new JsonArray();
    synchronized (ring) {
      Iterator<DecisionRecord> it = ring.descendingIterator();
      while (it.hasNext() && out.size() < limit) {
        DecisionRecord r = it.next();
        if (id == null || id.equals(r.requestId())) {
          out.add(r.toJson());
        }
      }
    }
    return out;
  }

  /** The {@code /debug/requests} reply. */
  public JsonObject page(String id, int limit) {
    return new JsonObject().put("capacity", capacity).put("requests", find(id, limit));
  }
}
