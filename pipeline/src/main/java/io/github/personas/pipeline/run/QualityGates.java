package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Measures the data-quality gates of {@code personas.quality} and says which passed, nearly failed or failed.
 *
 * <p>Gate results are data (written to the run summary whatever the outcome); only the run
 * decides to stop on a failure. A near miss is a measured value within {@code warn_margin} of
 * its limit: above {@code (1 - warn_margin) × limit} for a maximum, below
 * {@code (1 + warn_margin) × limit} for a minimum.
 */
public final class QualityGates {

  /** Key prefix of every gate. */
  public static final String PREFIX = "personas.quality.";
  public static final String MAX_QUARANTINE_SHARE = PREFIX + "max_quarantine_share";
  public static final String MAX_FUTURE_SHARE = PREFIX + "max_future_share";
  public static final String MIN_ACCEPTED_EVENTS = PREFIX + "min_accepted_events";
  public static final String MIN_USERS = PREFIX + "min_users";

  /** Outcome of one gate. */
  public enum Status {
    PASSED, WARNING, FAILED;

    /** Lower-case name, as written to the summary. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** How a message says it: passed, nearly failed or failed. */
    String verdict() {
      return this == WARNING ? "nearly failed" : label();
    }
  }

  /**
   * One measured gate.
   *
   * @param gate     the config key of the gate
   * @param maximum  true when the limit is an upper bound, false for a lower bound
   * @param limit    the configured limit (a share 0..1, or a count)
   * @param measured the measured value, in the same unit
   * @param status   passed, warning (near miss) or failed
   * @param message  one sentence naming the gate, the measured value and the limit
   */
  public record Result(String gate, boolean maximum, double limit, double measured, Status status, String message) {

    public Result {
      Objects.requireNonNull(gate, "gate");
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(message, "message");
    }

    /** The result as a JSON-friendly map for the run summary. */
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("gate", gate);
      m.put("bound", maximum ? "max" : "min");
      m.put("limit", limit);
      m.put("measured", measured);
      m.put("status", status.label());
      return m;
    }
  }

  private final PersonasConfig.Quality quality;

  /**
   * @param quality the validated gate limits
   */
  public QualityGates(PersonasConfig.Quality quality) {
    this.quality = Objects.requireNonNull(quality, "quality");
  }

  /**
   * The gates on the validated events: quarantine share (rows after the run date excepted),
   * future share and accepted events. Shares are of the rows in scope: later days that a source
   * holds on purpose are not this date's rows, and counting them would dilute every share.
   *
   * @param events counts of the events source
   * @param input  where the events were read from, for the messages
   */
  public List<Result> onEvents(SourceCounts events, String input) {
    long late = events.byReason().getOrDefault(ContractValidator.EVENT_AFTER_RUN_DATE, 0L);
    long invalid = events.quarantined() - late;
    double rows = events.inScope();
    String scope = events.laterDays() == 0 ? "" : String.format(" (%d of later days aside)", events.laterDays());
    List<Result> results = new ArrayList<>();
    results.add(maximum(MAX_QUARANTINE_SHARE, quality.maxQuarantineShare(), rows == 0 ? 0 : invalid / rows,
        String.format("of %d event rows%s broke the contract; reasons %s", events.inScope(), scope,
            events.byReasonSorted())));
    results.add(maximum(MAX_FUTURE_SHARE, quality.maxFutureShare(), rows == 0 ? 0 : late / rows,
        String.format("of %d event rows%s are later than the run date (%s); a clock or a time zone is off, or"
            + " the input holds later days on purpose (one folder of every day: set"
            + " personas.input.events.holds_later_days = true)",
            events.inScope(), scope, ContractValidator.EVENT_AFTER_RUN_DATE)));
    results.add(minimum(MIN_ACCEPTED_EVENTS, quality.minAcceptedEvents(), events.accepted(),
        String.format("events accepted of %d read from %s", events.read(), input)));
    return results;
  }

  /**
   * The gate on the users of the features table.
   *
   * @param users rows of the features table
   */
  public Result onUsers(long users) {
    return minimum(MIN_USERS, quality.minUsers(), users, "users in the features table");
  }

  private Result maximum(String gate, double limit, double share, String what) {
    Status status = share > limit ? Status.FAILED
        : share > 0 && share > (1 - quality.warnMargin()) * limit ? Status.WARNING : Status.PASSED;
    return new Result(gate, true, limit, share, status, String.format(
        "Data-quality gate %s %s: %.2f%% %s (limit %.2f%%)", gate, status.verdict(), 100 * share, what, 100 * limit));
  }

  private Result minimum(String gate, long limit, long count, String what) {
    Status status = count < limit ? Status.FAILED
        : count < (1 + quality.warnMargin()) * limit ? Status.WARNING : Status.PASSED;
    return new Result(gate, false, limit, count, status, String.format(
        "Data-quality gate %s %s: %d %s (at least %d needed)", gate, status.verdict(), count, what, limit));
  }
}
