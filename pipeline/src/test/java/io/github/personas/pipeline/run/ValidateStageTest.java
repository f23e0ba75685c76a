package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValidateStageTest extends StageTestBase {

  @Test
  void everyRowIsAccountedForAndTheQuarantineIsWrittenWithTheGates() {
    RunContext ctx = staged();
    ValidateStage.Result r = new ValidateStage(ctx, caches).run(null);
    SourceCounts ev = r.events().counts();
    assertTrue(ev.reconciles(), ev.toString());
    assertTrue(ev.duplicates() > 0, "the generated events repeat some ids: " + ev);
    long late = ev.byReason().get(ContractValidator.EVENT_AFTER_RUN_DATE);
    assertTrue(late > 0, "and hold some later than the run date: " + ev);
    assertEquals(ev.accepted(), r.events().accepted().count(), "the accepted rows are there, without the copies");
    assertEquals(USERS, r.profiles().counts().accepted());
    assertEquals(List.of(new StageReport.TableWrite(OutputWriter.QUARANTINE, ev.quarantined(),
        ctx.out().partition(OutputWriter.QUARANTINE))), r.report().tables());
    assertEquals(ev.quarantined(), ctx.out().read(OutputWriter.QUARANTINE).count(), "the quarantine is staged");
    assertEquals(0.0, r.quarantineShare(), "late events have a gate of their own");
    assertEquals(List.of(QualityGates.MAX_QUARANTINE_SHARE, QualityGates.MAX_FUTURE_SHARE,
        QualityGates.MIN_ACCEPTED_EVENTS), r.report().gates().stream().map(QualityGates.Result::gate).toList());
    assertFalse(r.report().failedGate().isPresent());
    assertTrue(r.report().warnings().get(0).startsWith(late + " events are later than the run date"),
        r.report().warnings().toString());
    assertEquals(Stage.VALIDATE, r.report().stage());
  }

  @Test
  void aFailedGateIsInTheResultNotAnException() {
    RunContext ctx = staged("personas.quality.min_accepted_events = 100000000");
    ValidateStage.Result r = new ValidateStage(ctx, caches).run(null);
    assertEquals(QualityGates.MIN_ACCEPTED_EVENTS, r.report().failedGate().orElseThrow().gate());
  }
}
