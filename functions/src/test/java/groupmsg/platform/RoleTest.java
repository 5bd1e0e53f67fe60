package groupmsg.platform;

import groupmsg.platform.api.Permission;
import groupmsg.platform.api.Role;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The permission table of API.md, "Roles and permissions". */
class RoleTest {
    @Test
    void ownerMayDoEverything() {
        for (Permission p : Permission.values()) assertThat(Role.OWNER.may(p)).as(p.name()).isTrue();
    }

    @Test
    void adminMayDoEverythingExceptKeys() {
        for (Permission p : Permission.values()) {
            assertThat(Role.ADMIN.may(p)).as(p.name()).isEqualTo(p != Permission.MANAGE_KEYS);
        }
    }

    @Test
    void memberReadsManagesGroupsAndSendsButDoesNotAdminister() {
        assertThat(Role.MEMBER.may(Permission.READ)).isTrue();
        assertThat(Role.MEMBER.may(Permission.MANAGE_GROUPS)).isTrue();
        assertThat(Role.MEMBER.may(Permission.SEND_MESSAGES)).isTrue();
        assertThat(Role.MEMBER.may(Permission.ADMINISTER)).isFalse();
        assertThat(Role.MEMBER.may(Permission.MANAGE_KEYS)).isFalse();
    }

    @Test
    void wireNamesRoundTripAndUnknownIsEmpty() {
        for (Role r : Role.values()) assertThat(Role.fromWire(r.wireName())).contains(r);
        assertThat(Role.fromWire("OWNER")).isEmpty();
        assertThat(Role.fromWire("root")).isEmpty();
        assertThat(Role.fromWire(null)).isEmpty();
    }
}
