package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.engine.Fold;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import io.github.personas.pipeline.validate.SuppressionCounts;
import io.github.personas.pipeline.validate.ValidationResult;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * Stage 1: reads the events and profiles, checks them against the input contract, writes the
 * quarantine and measures the gates on events. The events are read once: a fold given here (the
 * features') runs in the same pass.
 */
public final class ValidateStage {

  /**
   * The events and profiles validated: the stage's result.
   *
   * @param events          the events: their counts, quarantine, and accepted rows or per-user fold
   * @param profiles        the profiles: their counts, quarantine and accepted rows
   * @param quarantineShare share of event rows in scope (later days aside) that broke the contract
   *                        (those later than the run date are counted by their own gate)
   * @param suppression     ids on the suppression list, and how many matched a user
   * @param report          what the stage did; a failed gate stops the run
   */
  public record Result(ValidationResult events, ValidationResult profiles, double quarantineShare,
                       SuppressionCounts suppression, StageReport report) {}

  private final RunContext ctx;
  private final Caches caches;

  public ValidateStage(RunContext ctx, Caches caches) {
    this.ctx = ctx;
    this.caches = caches;
  }

  /**
   * Validates both sources.
   *
   * @param fold the per-user fold of the accepted events, or null for the accepted events themselves
   */
  public Result run(Fold<?> fold) {
    try (StageLog log = StageLog.start(Stage.VALIDATE, ctx)) {
      PersonasConfig.Quality quality = ctx.config().quality();
      ContractValidator validator = new ContractValidator(ctx.spark(), ctx.date(), ctx.config().privacy(),
          quality.maxRevenuePerEvent(), quality.earliestEventDate(), caches);
      ValidationResult events = validator.events(ctx.config().events(), fold);
      ValidationResult profiles = validator.profiles(ctx.config().profiles());
      events.warnings().forEach(log::warn);
      profiles.warnings().forEach(log::warn);
      SourceCounts ev = events.counts();
      log.write(OutputWriter.QUARANTINE, events.quarantine().unionByName(profiles.quarantine()),
          ev.quarantined() + profiles.counts().quarantined());
      long late = ev.byReason().getOrDefault(ContractValidator.EVENT_AFTER_RUN_DATE, 0L);
      if (late > 0) {
        log.warn(String.format("%d events are later than the run date %s and were quarantined as %s",
            late, ctx.date(), ContractValidator.EVENT_AFTER_RUN_DATE));
      }
      if (events.latestEventTime() != null) {
        LocalDate latest = events.latestEventTime().atZone(ZoneOffset.UTC).toLocalDate();
        long days = ChronoUnit.DAYS.between(latest, ctx.date());
        if (days > quality.maxDaysAfterLatestEvent()) {
          log.warn(String.format("The run date %s is %d days after the latest accepted event (%s) of %s: a mistyped"
                  + " --date, or an input that stopped receiving events? (personas.quality.max_days_after_latest_event"
                  + " = %d)", ctx.date(), days, events.latestEventTime(), ctx.config().events().path(),
              quality.maxDaysAfterLatestEvent()));
        }
      }
      log.gate(ctx.gates().onEvents(ev, ctx.config().events().path()));
      double share = ev.inScope() == 0 ? 0.0 : (double) (ev.quarantined() - late) / ev.inScope();
      return new Result(events, profiles, share, validator.suppression(events, profiles), log.finish());
    }
  }
}
