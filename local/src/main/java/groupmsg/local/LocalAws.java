package groupmsg.local;

/** The fake AWS identity everything local is filed under (the account id ElasticMQ also uses in its URLs). */
final class LocalAws {
    static final String ACCOUNT_ID = "000000000000";
    /** What API Gateway calls the API in ARNs and {@code requestContext.apiId}. */
    static final String API_ID = "local";

    private LocalAws() {}
}
