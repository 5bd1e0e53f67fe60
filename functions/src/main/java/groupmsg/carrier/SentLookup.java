package groupmsg.carrier;

import java.time.Instant;
import java.util.Objects;

/**
 * What the carrier says it holds of one message we may have sent: asked when a send's answer was lost (the worker
 * died between the carrier call and its record, or the answer was cut off), so that the row is settled from the
 * carrier's word instead of guessed at ({@link CarrierPort#findSent}); and of one it took, by its id, when its final
 * status callback is overdue ({@link CarrierPort#findById}).
 */
public sealed interface SentLookup {

    /**
     * The message to look for: sent from {@code from} to {@code to} with exactly {@code body}, for a row claimed at
     * {@code claimedAt} (it was sent after that, if at all) and sent by {@code sentBy} at the latest.
     */
    record Query(String from, String to, String body, Instant claimedAt, Instant sentBy) {
        public Query {
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(body, "body");
            Objects.requireNonNull(claimedAt, "claimedAt");
            Objects.requireNonNull(sentBy, "sentBy");
        }
    }

    /**
     * The carrier holds it. {@code status} is the carrier's own ({@code queued}, {@code sent}, {@code delivered},
     * {@code undelivered}, {@code failed}, ...); {@code errorCode} is set for a failed one, else null.
     */
    record Found(String carrierMessageId, String status, String errorCode) implements SentLookup {}

    /** The carrier holds no such message: it was never sent, and sending it now sends it once. */
    record NotFound() implements SentLookup {}

    /**
     * No clear answer: ask again later. {@code carrierFailing} when the carrier could not answer at all (unreachable,
     * an error, or a carrier that cannot be asked), so that asking about other messages now is no use either; false
     * when it answered but not clearly enough (a message there that may be this one, or too many to read).
     */
    record Unanswered(String reason, boolean carrierFailing) implements SentLookup {}
}
