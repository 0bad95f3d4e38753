/*
 * Unit tests for sio_packet: decoding every packet type in protocol v5 and
 * v4, every rejection, binary attachments, and encoding. Expected results
 * were checked against Node's socket.io-parser 4.2.7 (v5) and 3.4.3 (v4);
 * the places where we differ on purpose are marked "deviation".
 * Threading: single thread. Ownership: every packet is cleared by its test.
 */
#include "socketio/sio_packet.h"

#include <stdlib.h>
#include <string.h>

#include "test/unit/test.h"

#define V4 SIO_PROTOCOL_V4
#define V5 SIO_PROTOCOL_V5

typedef struct decode_case {
    int version;
    const char *in;
    int rc;
    int type;
    const char *nsp;
    const char *query; /* NULL: none */
    long long id;      /* -1: none */
    const char *data;  /* printed payload, NULL: none */
    size_t attachments;
    const char *reencoded; /* what the encoder writes back; NULL: same as in */
} decode_case;

static const decode_case decode_cases[] = {
    /* CONNECT */
    {V5, "0", 0, 0, "/", NULL, -1, NULL, 0, NULL},
    {V5, "0{\"token\":\"abc\"}", 0, 0, "/", NULL, -1, "{\"token\":\"abc\"}", 0, NULL},
    {V5, "0/admin,", 0, 0, "/admin", NULL, -1, NULL, 0, NULL},
    {V5, "0/admin", 0, 0, "/admin", NULL, -1, NULL, 0, "0/admin,"},
    {V5, "0/admin,{\"a\":1}", 0, 0, "/admin", NULL, -1, "{\"a\":1}", 0, NULL},
    {V5, "0/admin?token=x,", 0, 0, "/admin?token=x", NULL, -1, NULL, 0,
     NULL}, /* v5: no query split */
    {V4, "0", 0, 0, "/", NULL, -1, NULL, 0, NULL},
    {V4, "0/admin,", 0, 0, "/admin", NULL, -1, NULL, 0, NULL},
    {V4, "0/admin?token=x&b=%20,", 0, 0, "/admin", "token=x&b=%20", -1, NULL, 0, NULL},
    {V4, "0/?a=1,", 0, 0, "/", "a=1", -1, NULL, 0, NULL},
    {V4, "0/admin?,", 0, 0, "/admin", "", -1, NULL, 0, NULL},
    {V4, "0null", 0, 0, "/", NULL, -1, "null", 0, NULL}, /* typeof null === "object" */
    {V4, "0[]", 0, 0, "/", NULL, -1, "[]", 0, NULL},
    /* DISCONNECT */
    {V5, "1", 0, 1, "/", NULL, -1, NULL, 0, NULL},
    {V5, "1/admin,", 0, 1, "/admin", NULL, -1, NULL, 0, NULL},
    {V4, "1/admin,", 0, 1, "/admin", NULL, -1, NULL, 0, NULL},
    /* EVENT */
    {V5, "2[\"hello\",1,{\"a\":[true,null]}]", 0, 2, "/", NULL, -1,
     "[\"hello\",1,{\"a\":[true,null]}]", 0, NULL},
    {V5, "2/admin,12[\"a\"]", 0, 2, "/admin", NULL, 12, "[\"a\"]", 0, NULL},
    {V5, "212[\"a\"]", 0, 2, "/", NULL, 12, "[\"a\"]", 0, NULL},
    {V5, "20[\"a\"]", 0, 2, "/", NULL, 0, "[\"a\"]", 0, NULL},
    {V5, "2007[\"a\"]", 0, 2, "/", NULL, 7, "[\"a\"]", 0, "27[\"a\"]"},
    {V5, "29007199254740991[\"a\"]", 0, 2, "/", NULL, 9007199254740991LL, "[\"a\"]", 0, NULL},
    {V5, "2[1]", 0, 2, "/", NULL, -1, "[1]", 0, NULL}, /* a number as event name, as Node */
    {V5, "2/,[\"a\"]", 0, 2, "/", NULL, -1, "[\"a\"]", 0, "2[\"a\"]"},
    {V5, "2/a b,[\"x\"]", 0, 2, "/a b", NULL, -1, "[\"x\"]", 0, NULL},
    {V5, "2/caf\xC3\xA9,[\"x\"]", 0, 2, "/caf\xC3\xA9", NULL, -1, "[\"x\"]", 0, NULL},
    {V5, "2 [\"a\"]", 0, 2, "/", NULL, -1, "[\"a\"]", 0,
     "2[\"a\"]"}, /* deviation: Node gives id 0 */
    {V5, "2[\"a\",{\"_placeholder\":false,\"num\":0}]", 0, 2, "/", NULL, -1,
     "[\"a\",{\"_placeholder\":false,\"num\":0}]", 0, NULL}, /* not a placeholder */
    {V4, "2[\"hello\"]", 0, 2, "/", NULL, -1, "[\"hello\"]", 0, NULL},
    {V4, "2/admin,3[\"hello\",\"\\u0000\"]", 0, 2, "/admin", NULL, 3, "[\"hello\",\"\\u0000\"]", 0,
     NULL},
    {V4, "2/admin?x,[\"a\"]", 0, 2, "/admin?x", NULL, -1, "[\"a\"]", 0,
     NULL}, /* split only for CONNECT */
    /* ACK */
    {V5, "3/admin,12[]", 0, 3, "/admin", NULL, 12, "[]", 0, NULL},
    {V5, "312[\"x\",2]", 0, 3, "/", NULL, 12, "[\"x\",2]", 0, NULL},
    {V4, "35[null]", 0, 3, "/", NULL, 5, "[null]", 0, NULL},
    /* CONNECT_ERROR (v4: ERROR) */
    {V5, "4{\"message\":\"Invalid namespace\"}", 0, 4, "/", NULL, -1,
     "{\"message\":\"Invalid namespace\"}", 0, NULL},
    {V5, "4/x,{\"message\":\"no\",\"data\":{\"c\":1}}", 0, 4, "/x", NULL, -1,
     "{\"message\":\"no\",\"data\":{\"c\":1}}", 0, NULL},
    {V5, "4\"str\"", 0, 4, "/", NULL, -1, "\"str\"", 0, NULL},
    {V5, "4", 0, 4, "/", NULL, -1, NULL, 0, NULL},
    {V5, "42{}", 0, 4, "/", NULL, 2, "{}", 0, NULL}, /* as Node: ack id 2, then {} */
    {V4, "4/admin,\"Not authorized\"", 0, 4, "/admin", NULL, -1, "\"Not authorized\"", 0, NULL},
    {V4, "4null", 0, 4, "/", NULL, -1, "null", 0, NULL},
    {V4, "4[]", 0, 4, "/", NULL, -1, "[]", 0, NULL},
    /* BINARY_EVENT, BINARY_ACK */
    {V5, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", 0, 5, "/", NULL, -1,
     "[\"baz\",{\"_placeholder\":true,\"num\":0}]", 1, NULL},
    {V5, "501-[\"a\",{\"num\":0,\"_placeholder\":true}]", 0, 5, "/", NULL, -1,
     "[\"a\",{\"num\":0,\"_placeholder\":true}]", 1,
     "51-[\"a\",{\"_placeholder\":true,\"num\":0}]"},
    {V5, "52-/admin,7[\"a\",{\"_placeholder\":true,\"num\":1},[{\"_placeholder\":true,\"num\":0}]]",
     0, 5, "/admin", NULL, 7,
     "[\"a\",{\"_placeholder\":true,\"num\":1},[{\"_placeholder\":true,\"num\":0}]]", 2,
     "52-/admin,7[\"a\",{\"_placeholder\":true,\"num\":0},[{\"_placeholder\":true,\"num\":1}]]"},
    {V5,
     "610-12[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},"
     "{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,\"num\":3},"
     "{\"_placeholder\":true,\"num\":4},{\"_placeholder\":true,\"num\":5},"
     "{\"_placeholder\":true,\"num\":6},{\"_placeholder\":true,\"num\":7},"
     "{\"_placeholder\":true,\"num\":8},{\"_placeholder\":true,\"num\":9}]",
     0, 6, "/", NULL, 12, NULL, 10, NULL},
    {V5, "61-/admin,3[{\"_placeholder\":true,\"num\":0.0}]", 0, 6, "/admin", NULL, 3,
     "[{\"_placeholder\":true,\"num\":0}]", 1, "61-/admin,3[{\"_placeholder\":true,\"num\":0}]"},
    {V5, "51-[\"a\",{\"\\u005fplaceholder\":true,\"num\":0}]", 0, 5, "/", NULL, -1,
     "[\"a\",{\"_placeholder\":true,\"num\":0}]", 1,
     "51-[\"a\",{\"_placeholder\":true,\"num\":0}]"},
    {V4, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", 0, 5, "/", NULL, -1,
     "[\"baz\",{\"_placeholder\":true,\"num\":0}]", 1, NULL},
    {V4, "61-/admin,1[{\"_placeholder\":true,\"num\":0}]", 0, 6, "/admin", NULL, 1,
     "[{\"_placeholder\":true,\"num\":0}]", 1, NULL},

    /* Rejections: type */
    {V5, "", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0,
     NULL}, /* deviation: Node says CONNECT */
    {V5, " ", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "7", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "9[\"a\"]", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "abc", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "-1", SIO_PACKET_ERR_TYPE, 0, NULL, NULL, -1, NULL, 0, NULL},
    /* payload not JSON */
    {V5, "4abc", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "4abc", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"a\",]", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2admin,[\"x\"]", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/admin,x[\"a\"]", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"a\"]\xEF\xBB\xBF", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    /* payload shape */
    {V5, "2{}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "2{}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[true]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[null,1]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[[\"a\"]]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2\"a\"", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},       /* deviation */
    {V5, "2/admin", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL}, /* deviation */
    {V5, "3", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},       /* deviation */
    {V5, "312", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},     /* deviation */
    {V5, "3{}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "1{}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "1[]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "1/admin,null", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "0[]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "0null", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "0\"token\"", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "0\"token\"", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "4[]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "4null", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "4true", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "4true", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "51-{\"_placeholder\":true,\"num\":0}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0,
     NULL},
    {V5, "61-{}", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL},
    /* reserved event names */
    {V5, "2[\"connect\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"connect_error\",1]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/admin,[\"disconnect\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0,
     NULL},
    {V5, "2[\"disconnecting\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"newListener\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"removeListener\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "51-[\"connect\",{\"_placeholder\":true,\"num\":0}]", SIO_PACKET_ERR_RESERVED_EVENT, 0,
     NULL, NULL, -1, NULL, 0, NULL},
    {V4, "2[\"connect\"]", SIO_PACKET_ERR_RESERVED_EVENT, 0, NULL, NULL, -1, NULL, 0,
     NULL},                                                                        /* deviation */
    {V5, "2[-1e400,2]", SIO_PACKET_ERR_PAYLOAD, 0, NULL, NULL, -1, NULL, 0, NULL}, /* deviation */
    {V5, "2[\"Connect\"]", 0, 2, "/", NULL, -1, "[\"Connect\"]", 0, NULL},
    {V5, "2[\"connect\\u0000\"]", 0, 2, "/", NULL, -1, "[\"connect\\u0000\"]", 0, NULL},
    /* attachments */
    {V5, "5-[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "5x-[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "5 1-[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "51[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "51", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "5", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "50-[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "50-[\"a\"]", SIO_PACKET_ERR_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0,
     NULL}, /* deviation */
    {V5, "511-[\"a\"]", SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "611-[]", SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "599999999999999999999999999-[\"a\"]", SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS, 0, NULL, NULL,
     -1, NULL, 0, NULL},
    /* ack ids */
    {V5, "29007199254740992[\"a\"]", SIO_PACKET_ERR_ACK_ID, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "3/admin,99999999999999999999999[]", SIO_PACKET_ERR_ACK_ID, 0, NULL, NULL, -1, NULL, 0,
     NULL},
    {V5, "21.5[\"a\"]", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2-1[\"a\"]", SIO_PACKET_ERR_JSON, 0, NULL, NULL, -1, NULL, 0, NULL},
    /* namespaces */
    {V5,
     "2/a\x01"
     "b,[\"x\"]",
     SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/a\tb,[\"x\"]", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/a\x7f,[\"x\"]", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/\xFF,[\"x\"]", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2/\xC3,[\"x\"]", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "0/admin\n?x,", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V4, "0/admin?x\x01,", SIO_PACKET_ERR_NAMESPACE, 0, NULL, NULL, -1, NULL, 0, NULL},
    /* placeholders */
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]", SIO_PACKET_ERR_PLACEHOLDER, 0,
     NULL, NULL, -1, NULL, 0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":1}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL,
     -1, NULL, 0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL,
     -1, NULL, 0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL,
     NULL, -1, NULL, 0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":1e400}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL,
     NULL, -1, NULL, 0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL, -1, NULL,
     0, NULL},
    {V5, "51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":1}]", SIO_PACKET_ERR_PLACEHOLDER, 0,
     NULL, NULL, -1, NULL, 0, NULL},
    {V5, "52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":0}]",
     SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL, -1, NULL, 0, NULL}, /* duplicate */
    {V5, "52-[\"a\",{\"_placeholder\":true,\"num\":1}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL,
     -1, NULL, 0, NULL}, /* missing num 0 */
    {V5, "51-[\"a\"]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL, -1, NULL, 0, NULL},
    {V5, "2[\"a\",{\"_placeholder\":true,\"num\":0}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL,
     -1, NULL, 0, NULL}, /* deviation: not in a binary packet */
    {V5, "0{\"x\":{\"_placeholder\":true,\"num\":0}}", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL,
     -1, NULL, 0, NULL},
    {V5, "3[{\"_placeholder\":true,\"num\":0}]", SIO_PACKET_ERR_PLACEHOLDER, 0, NULL, NULL, -1,
     NULL, 0, NULL},
};

static void check_decode_case(const decode_case *c)
{
    sio_packet p;
    int rc = sio_packet_decode(c->version, c->in, strlen(c->in), NULL, &p, NULL);
    if (rc != c->rc) {
        test_failures_in_current++;
        fprintf(stderr, "  v%d \"%s\": rc %d (%s), expected %d (%s)\n", c->version, c->in, rc,
                sio_packet_strerror(rc), c->rc, sio_packet_strerror(c->rc));
        sio_packet_clear(&p);
        return;
    }
    if (rc != 0) {
        CHECK(p.nsp == NULL && p.data == NULL && p.attachments == NULL);
        return;
    }
    CHECK_EQ_INT(p.type, c->type);
    CHECK(p.nsp && strcmp(p.nsp, c->nsp) == 0);
    if (c->query)
        CHECK(p.query && strcmp(p.query, c->query) == 0);
    else
        CHECK(p.query == NULL);
    CHECK_EQ_INT(p.has_id, c->id >= 0);
    if (c->id >= 0)
        CHECK_EQ_INT(p.id, c->id);
    if (c->data) {
        size_t len;
        char *s = sio_json_print(p.data, &len);
        CHECK_MEM(s, len, c->data);
        free(s);
    } else if (c->type != 6) {
        CHECK(p.data == NULL);
    }
    CHECK_EQ_INT(p.attachment_count, c->attachments);
    CHECK_EQ_INT(sio_packet_is_complete(&p), c->attachments == 0);

    /* Complete it, encode it, and compare with the canonical text. */
    for (size_t i = 0; i < c->attachments; i++) {
        uint8_t byte = (uint8_t)i;
        CHECK_EQ_INT(sio_packet_add_attachment(&p, &byte, 1), i + 1 == c->attachments);
    }
    sio_encoded e = SIO_ENCODED_INIT;
    rc = sio_packet_encode(c->version, &p, &e);
    CHECK_EQ_INT(rc, 0);
    CHECK_MEM(e.text.data, e.text.len, c->reencoded ? c->reencoded : c->in);
    CHECK_EQ_INT(e.attachment_count, c->attachments);
    sio_encoded_free(&e);
    sio_packet_clear(&p);
    CHECK(p.nsp == NULL);
}

static void test_packet_decode_table(void)
{
    for (size_t i = 0; i < sizeof decode_cases / sizeof *decode_cases; i++)
        check_decode_case(&decode_cases[i]);
}

static void test_packet_options(void)
{
    sio_packet p;
    sio_packet_options opt = {20, 3, 0, 0, 0};
    const char *in =
        "511-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},"
        "{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,\"num\":3},"
        "{\"_placeholder\":true,\"num\":4},{\"_placeholder\":true,\"num\":5},"
        "{\"_placeholder\":true,\"num\":6},{\"_placeholder\":true,\"num\":7},"
        "{\"_placeholder\":true,\"num\":8},{\"_placeholder\":true,\"num\":9},"
        "{\"_placeholder\":true,\"num\":10}]";
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), NULL, &p, NULL),
                 SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS);
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), &opt, &p, NULL), 0);
    CHECK_EQ_INT(p.attachment_count, 11);
    sio_packet_clear(&p);

    /* max_depth: the payload array itself counts as one level. */
    in = "2[\"a\",[[1]]]";
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), &opt, &p, NULL), 0);
    sio_packet_clear(&p);
    in = "2[\"a\",[[[1]]]]";
    sio_json_error jerr;
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), &opt, &p, &jerr), SIO_PACKET_ERR_DEPTH);
    CHECK_EQ_INT(jerr.code, SIO_JSON_ERR_DEPTH);
    CHECK_EQ_INT(jerr.offset, 8); /* offset within the whole packet */

    /* JSON error details point into the packet. */
    in = "2/admin,[\"a\",]";
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), NULL, &p, &jerr), SIO_PACKET_ERR_JSON);
    CHECK_EQ_INT(jerr.code, SIO_JSON_ERR_SYNTAX);
    CHECK_EQ_INT(jerr.offset, 13);

    /* Unknown versions. */
    CHECK_EQ_INT(sio_packet_decode(3, "0", 1, NULL, &p, NULL), SIO_PACKET_ERR_VERSION);
    CHECK_EQ_INT(sio_packet_decode(V5, NULL, 0, NULL, &p, NULL), SIO_PACKET_ERR_TYPE);
}

static void test_packet_binary_reconstruction(void)
{
    const char *in =
        "52-/up,9[\"upload\",{\"_placeholder\":true,\"num\":1},{\"k\":{\"_placeholder\":true,"
        "\"num\":0}}]";
    sio_packet p;
    CHECK_EQ_INT(sio_packet_decode(V5, in, strlen(in), NULL, &p, NULL), 0);
    CHECK_EQ_INT(p.type, SIO_PACKET_BINARY_EVENT);
    CHECK_EQ_INT(p.attachment_count, 2);
    CHECK_EQ_INT(sio_packet_is_complete(&p), 0);
    CHECK_EQ_INT(sio_packet_add_attachment(&p, "A", 1), 0);
    CHECK_EQ_INT(sio_packet_is_complete(&p), 0);
    eio_frame *f = eio_frame_from("\x00\xFF"
                                  "BB",
                                  4);
    CHECK_EQ_INT(sio_packet_add_attachment_frame(&p, f), 1);
    CHECK_EQ_INT(sio_packet_is_complete(&p), 1);
    /* One too many. */
    CHECK_EQ_INT(sio_packet_add_attachment(&p, "C", 1), SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT);
    CHECK_EQ_INT(sio_packet_add_attachment_frame(&p, eio_frame_from("D", 1)),
                 SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT);

    /* Resolve the placeholders. */
    const cJSON *second = cJSON_GetArrayItem(p.data, 1);
    CHECK_EQ_INT(sio_packet_placeholder_num(second), 1);
    CHECK(p.attachments[1] == f && f->len == 4 &&
          memcmp(f->data,
                 "\x00\xFF"
                 "BB",
                 4) == 0);
    const cJSON *inner = sio_json_get(cJSON_GetArrayItem(p.data, 2), "k");
    CHECK_EQ_INT(sio_packet_placeholder_num(inner), 0);
    CHECK(p.attachments[0]->len == 1 && p.attachments[0]->data[0] == 'A');
    CHECK_EQ_INT(sio_packet_placeholder_num(cJSON_GetArrayItem(p.data, 0)), -1);
    CHECK_EQ_INT(sio_packet_placeholder_num(p.data), -1);
    CHECK_EQ_INT(sio_packet_placeholder_num(NULL), -1);

    /* Re-encoding renumbers depth-first and reorders the frames. */
    sio_encoded e = SIO_ENCODED_INIT;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len,
              "52-/up,9[\"upload\",{\"_placeholder\":true,\"num\":0},{\"k\":{\"_placeholder\":true,"
              "\"num\":1}}]");
    CHECK_EQ_INT(e.attachment_count, 2);
    CHECK(e.attachments[0] == f && e.attachments[1] == p.attachments[0]);
    CHECK_EQ_INT(f->refs, 2);
    sio_encoded_free(&e);
    CHECK_EQ_INT(f->refs, 1);
    sio_packet_clear(&p);

    /* A non-binary packet takes no attachment. */
    CHECK_EQ_INT(sio_packet_decode(V5, "2[\"a\"]", 6, NULL, &p, NULL), 0);
    CHECK_EQ_INT(sio_packet_is_complete(&p), 1);
    CHECK_EQ_INT(sio_packet_add_attachment(&p, "x", 1), SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT);
    sio_packet_clear(&p);
    sio_packet_clear(NULL);

    /* Clearing a packet still waiting for attachments frees what arrived. */
    in = "62-[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    CHECK_EQ_INT(sio_packet_decode(V4, in, strlen(in), NULL, &p, NULL), 0);
    CHECK_EQ_INT(sio_packet_add_attachment(&p, "", 0), 0);
    sio_packet_clear(&p);
}

/* Builds an emit with binary the way the server layer will. */
static void test_packet_encode_binary_emit(void)
{
    eio_frame *f0 = eio_frame_from("zero", 4), *f1 = eio_frame_from("one", 3);
    eio_frame *frames[2] = {f0, f1};
    cJSON *data = cJSON_CreateArray();
    cJSON_AddItemToArray(data, cJSON_CreateString("file"));
    cJSON_AddItemToArray(data, sio_packet_placeholder_new(1));
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, "x", sio_packet_placeholder_new(0));
    cJSON_AddItemToArray(data, obj);
    cJSON_AddItemToArray(data, sio_packet_placeholder_new(1));

    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_EVENT;
    p.nsp = "/files";
    p.data = data;
    p.attachments = frames;
    p.attachment_count = 2;
    sio_encoded e = SIO_ENCODED_INIT;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len,
              "53-/files,[\"file\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,"
              "\"num\":1}},{\"_placeholder\":true,\"num\":2}]");
    CHECK_EQ_INT(e.attachment_count, 3);
    CHECK(e.attachments[0] == f1 && e.attachments[1] == f0 && e.attachments[2] == f1);
    CHECK_EQ_INT(f1->refs, 3);

    /* As an ack with an id; encoding again reuses e and drops the old refs. */
    p.type = SIO_PACKET_ACK;
    p.has_id = 1;
    p.id = 42;
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(
        e.text.data, e.text.len,
        "63-/files,42[\"file\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,"
        "\"num\":1}},{\"_placeholder\":true,\"num\":2}]");
    CHECK_EQ_INT(f1->refs, 3);

    /* Bad placeholder numbers are the caller's bug: reported, not crashed on. */
    cJSON_AddItemToArray(data, sio_packet_placeholder_new(2));
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_PLACEHOLDER);
    CHECK_EQ_INT(e.text.len, 0);
    CHECK_EQ_INT(e.attachment_count, 0);
    CHECK_EQ_INT(f1->refs, 1);
    sio_json_delete(cJSON_DetachItemFromArray(data, 4));
    frames[1] = NULL;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_PLACEHOLDER);
    frames[1] = f1;

    /* Without placeholders a BINARY_EVENT is written as a plain EVENT. */
    cJSON *plain = cJSON_CreateArray();
    cJSON_AddItemToArray(plain, cJSON_CreateString("x"));
    sio_packet q = SIO_PACKET_INIT;
    q.type = SIO_PACKET_BINARY_EVENT;
    q.data = plain;
    CHECK_EQ_INT(sio_packet_encode(V5, &q, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "2[\"x\"]");
    q.type = SIO_PACKET_BINARY_ACK;
    q.has_id = 1;
    q.id = 0;
    CHECK_EQ_INT(sio_packet_encode(V5, &q, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "30[\"x\"]");

    /* Placeholders in other types are refused. */
    cJSON *auth = cJSON_CreateObject();
    cJSON_AddItemToObject(auth, "b", sio_packet_placeholder_new(0));
    sio_packet c = SIO_PACKET_INIT;
    c.type = SIO_PACKET_CONNECT;
    c.data = auth;
    c.attachments = frames;
    c.attachment_count = 2;
    CHECK_EQ_INT(sio_packet_encode(V5, &c, &e), SIO_PACKET_ERR_PLACEHOLDER);

    sio_encoded_free(&e);
    sio_encoded_free(&e);
    sio_encoded_free(NULL);
    sio_json_delete(auth);
    sio_json_delete(plain);
    sio_json_delete(data);
    eio_frame_unref(f0);
    eio_frame_unref(f1);
}

static void test_packet_encode_server_packets(void)
{
    sio_encoded e = SIO_ENCODED_INIT;
    sio_packet p = SIO_PACKET_INIT;

    /* v5 CONNECT answer. */
    cJSON *sid = sio_json_parse("{\"sid\":\"abc\"}", 13, 0, NULL);
    p.type = SIO_PACKET_CONNECT;
    p.data = sid;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0{\"sid\":\"abc\"}");
    p.nsp = "/admin";
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0/admin,{\"sid\":\"abc\"}");
    sio_json_delete(sid);

    /* v4 CONNECT for / and for a namespace. */
    p.data = NULL;
    p.nsp = NULL;
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0");
    p.nsp = "";
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0");
    p.nsp = "/admin";
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0/admin,");
    p.query = "t=1";
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "0/admin?t=1,");
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0); /* v5: no query */
    CHECK_MEM(e.text.data, e.text.len, "0/admin,");
    p.query = NULL;

    /* Errors on connect. */
    cJSON *msg = sio_json_parse("{\"message\":\"Invalid namespace\"}", 31, 0, NULL);
    p.type = SIO_PACKET_CONNECT_ERROR;
    p.nsp = "/x";
    p.data = msg;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "4/x,{\"message\":\"Invalid namespace\"}");
    sio_json_delete(msg);
    cJSON *str = cJSON_CreateString("Not authorized");
    p.nsp = "/admin";
    p.data = str;
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "4/admin,\"Not authorized\"");
    sio_json_delete(str);

    /* DISCONNECT and an EVENT with an ack id and a number event name. */
    p.type = SIO_PACKET_DISCONNECT;
    p.data = NULL;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "1/admin,");
    cJSON *ev = sio_json_parse("[7,\"\\u2028\",1e21]", 17, 0, NULL);
    p.type = SIO_PACKET_EVENT;
    p.data = ev;
    p.has_id = 1;
    p.id = SIO_PACKET_MAX_ACK_ID;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    CHECK_MEM(e.text.data, e.text.len, "2/admin,9007199254740991[7,\"\xE2\x80\xA8\",1e+21]");

    /* Encoder refusals. */
    p.id = SIO_PACKET_MAX_ACK_ID + 1;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_ACK_ID);
    CHECK_EQ_INT(e.text.len, 0);
    p.id = 1;
    p.nsp = "admin";
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_NAMESPACE);
    p.nsp = "/a,b";
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_NAMESPACE);
    p.nsp = "/a\nb";
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_NAMESPACE);
    p.nsp = "/a";
    CHECK_EQ_INT(sio_packet_encode(2, &p, &e), SIO_PACKET_ERR_VERSION);
    p.type = (sio_packet_type)9;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_TYPE);
    p.type = SIO_PACKET_DISCONNECT;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_PAYLOAD);
    p.type = SIO_PACKET_CONNECT;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_PAYLOAD);
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), 0); /* v4: typeof [] === "object" */
    p.data = NULL;
    p.nsp = "/a?b";
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), SIO_PACKET_ERR_NAMESPACE);
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), 0);
    p.nsp = "/a";
    p.query = "x,y";
    CHECK_EQ_INT(sio_packet_encode(V4, &p, &e), SIO_PACKET_ERR_NAMESPACE);
    p.query = NULL;
    cJSON *reserved = sio_json_parse("[\"disconnect\"]", 14, 0, NULL);
    p.type = SIO_PACKET_EVENT;
    p.data = reserved;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_RESERVED_EVENT);
    p.data = NULL;
    CHECK_EQ_INT(sio_packet_encode(V5, &p, &e), SIO_PACKET_ERR_PAYLOAD);
    sio_json_delete(reserved);
    sio_json_delete(ev);
    sio_encoded_free(&e);
}

/* Every prefix of valid packets, and every single-byte change, is decoded
 * or refused cleanly (under ASan: no read past the end). */
static void test_packet_every_split_and_byte(void)
{
    static const char *const ins[] = {
        "52-/admin,7[\"a\",{\"_placeholder\":true,\"num\":1},[{\"_placeholder\":true,\"num\":0}]]",
        "2/chat,12[\"msg\",{\"t\":\"h\\u00e9\\ud83d\\ude00\",\"n\":-1.5e3}]",
        "0/admin?token=x,",
        "4/admin,\"Not authorized\"",
    };
    for (size_t k = 0; k < sizeof ins / sizeof *ins; k++) {
        size_t n = strlen(ins[k]);
        for (int version = V4; version <= V5; version++) {
            for (size_t cut = 0; cut <= n; cut++) {
                char *copy = malloc(cut ? cut : 1);
                memcpy(copy, ins[k], cut);
                sio_packet p;
                int rc = sio_packet_decode(version, copy, cut, NULL, &p, NULL);
                CHECK(rc <= 0);
                sio_packet_clear(&p);
                free(copy);
            }
            char *copy = malloc(n);
            for (size_t pos = 0; pos < n; pos++) {
                static const char repl[] = {'\0', ',', '/', '-', '"', '[', '9', '\xFF', '{'};
                for (size_t r = 0; r < sizeof repl; r++) {
                    memcpy(copy, ins[k], n);
                    copy[pos] = repl[r];
                    sio_packet p;
                    int rc = sio_packet_decode(version, copy, n, NULL, &p, NULL);
                    if (rc == 0) {
                        sio_encoded e = SIO_ENCODED_INIT;
                        for (size_t i = 0; i < p.attachment_count; i++)
                            sio_packet_add_attachment(&p, "x", 1);
                        CHECK_EQ_INT(sio_packet_encode(version, &p, &e), 0);
                        sio_encoded_free(&e);
                    }
                    sio_packet_clear(&p);
                }
            }
            free(copy);
        }
    }
}

/* The default parser's decoder on a fake clock: a binary packet whose
 * attachments do not all come within binary_timeout_ms, or that passes
 * max_binary_bytes, is an error and the state is cleared; within both
 * limits it is whole. */
static int feed(sio_packet_decoder *d, sio_packet_options *o, uint64_t now, const char *text,
                size_t bin_len, sio_packet *out)
{
    o->now_ms = now;
    if (text)
        return sio_parser_default.decode(V5, (const uint8_t *)text, strlen(text), 0, o, d, out);
    static uint8_t bytes[16384];
    return sio_parser_default.decode(V5, bytes, bin_len, 1, o, d, out);
}

static void test_decoder_binary_limits(void)
{
    sio_packet_options o = {0, 0, 60000, 10000, 0};
    sio_packet_decoder d;
    memset(&d, 0, sizeof(d));
    sio_packet p;
    uint64_t deadline = 1;
    const char *two =
        "52-[\"ev\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";

    /* No packet waiting: no deadline. */
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 5, &deadline), 0);
    CHECK_EQ_INT(deadline, 0);

    /* Within the time: whole. */
    CHECK_EQ_INT(feed(&d, &o, 1000, two, 0, &p), 0);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 1000, &deadline), 0);
    CHECK_EQ_INT(deadline, 61000);
    CHECK_EQ_INT(feed(&d, &o, 30000, NULL, 100, &p), 0);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 60999, NULL), 0);
    CHECK_EQ_INT(feed(&d, &o, 60999, NULL, 100, &p), 1);
    CHECK_EQ_INT(p.attachment_count, 2);
    sio_packet_clear(&p);
    CHECK_EQ_INT(d.reconstructing, 0);
    CHECK_EQ_INT(d.bytes, 0);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 200000, &deadline), 0);
    CHECK_EQ_INT(deadline, 0);

    /* The timer's check at the deadline: an error, the state cleared. */
    CHECK_EQ_INT(feed(&d, &o, 100000, two, 0, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 100001, NULL, 10, &p), 0);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 159999, &deadline), 0);
    CHECK_EQ_INT(deadline, 160000);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, 160000, NULL),
                 SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT);
    CHECK_EQ_INT(d.reconstructing, 0);
    CHECK(d.partial.attachments == NULL);

    /* An attachment arriving late (no timer ran): the same error. */
    CHECK_EQ_INT(feed(&d, &o, 0, two, 0, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 60000, NULL, 10, &p), SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT);
    CHECK_EQ_INT(d.reconstructing, 0);
    /* ... and the decoder is fresh after it. */
    CHECK_EQ_INT(feed(&d, &o, 60001, "2[\"ok\"]", 0, &p), 1);
    sio_packet_clear(&p);

    /* Bytes: text and attachments together, to the byte. */
    size_t text = strlen(two);
    CHECK_EQ_INT(feed(&d, &o, 0, two, 0, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 1, NULL, 4000, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 2, NULL, 10000 - 4000 - text, &p), 1);
    sio_packet_clear(&p);
    CHECK_EQ_INT(feed(&d, &o, 0, two, 0, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 1, NULL, 4000, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, 2, NULL, 10000 - 4000 - text + 1, &p),
                 SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE);
    CHECK_EQ_INT(d.reconstructing, 0);
    CHECK(d.partial.attachments == NULL);
    /* A text part alone over the limit. */
    o.max_binary_bytes = text - 1;
    CHECK_EQ_INT(feed(&d, &o, 0, two, 0, &p), SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE);
    CHECK_EQ_INT(d.reconstructing, 0);

    /* 0: no limits. */
    o.max_binary_bytes = 0;
    o.binary_timeout_ms = 0;
    CHECK_EQ_INT(feed(&d, &o, 0, two, 0, &p), 0);
    CHECK_EQ_INT(sio_packet_decoder_check(&d, &o, UINT64_MAX / 2, &deadline), 0);
    CHECK_EQ_INT(deadline, 0);
    CHECK_EQ_INT(feed(&d, &o, UINT64_MAX / 2, NULL, 4096, &p), 0);
    CHECK_EQ_INT(feed(&d, &o, UINT64_MAX / 2, NULL, 4096, &p), 1);
    sio_packet_clear(&p);
    sio_packet_decoder_clear(&d);
}

static void test_packet_names(void)
{
    for (int err = 0; err >= -16; err--) {
        const char *s = sio_packet_strerror(err);
        CHECK(s && strcmp(s, "unknown packet error") != 0);
        for (int other = err - 1; other >= -16; other--)
            CHECK(strcmp(s, sio_packet_strerror(other)) != 0);
    }
    CHECK(strcmp(sio_packet_strerror(-100), "unknown packet error") == 0);
    CHECK(strcmp(sio_packet_strerror(SIO_PACKET_ERR_ATTACHMENTS), "illegal attachments") == 0);
    CHECK(strcmp(sio_packet_type_name(V4, 4), "ERROR") == 0);
    CHECK(strcmp(sio_packet_type_name(V5, 4), "CONNECT_ERROR") == 0);
    CHECK(strcmp(sio_packet_type_name(V5, 6), "BINARY_ACK") == 0);
    CHECK(strcmp(sio_packet_type_name(V5, 7), "UNKNOWN") == 0);
}

int main(void)
{
    RUN_TEST(test_packet_decode_table);
    RUN_TEST(test_packet_options);
    RUN_TEST(test_packet_binary_reconstruction);
    RUN_TEST(test_packet_encode_binary_emit);
    RUN_TEST(test_packet_encode_server_packets);
    RUN_TEST(test_packet_every_split_and_byte);
    RUN_TEST(test_decoder_binary_limits);
    RUN_TEST(test_packet_names);
    return TEST_SUMMARY();
}
