package groupmsg.platform.api;

import groupmsg.platform.json.Json;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a route answers: status, headers and a text body. */
public record ApiResponse(int status, Map<String, String> headers, String body) {

    public static final String JSON_TYPE = "application/json; charset=utf-8";

    public static ApiResponse json(int status, Object body) {
        return new ApiResponse(status, Map.of("content-type", JSON_TYPE), Json.write(body));
    }

    public static ApiResponse ok(Object body) {
        return json(200, body);
    }

    public static ApiResponse created(Object body) {
        return json(201, body);
    }

    public static ApiResponse accepted(Object body) {
        return json(202, body);
    }

    public static ApiResponse noContent() {
        return new ApiResponse(204, Map.of(), "");
    }

    public static ApiResponse text(int status, String contentType, String body, Map<String, String> extraHeaders) {
        var headers = new LinkedHashMap<String, String>(extraHeaders);
        headers.put("content-type", contentType);
        return new ApiResponse(status, headers, body);
    }

    public static ApiResponse error(ApiException e) {
        return error(e.code(), e.getMessage(), e.details());
    }

    public static ApiResponse error(ErrorCode code, String message, List<Map<String, Object>> details) {
        var error = new LinkedHashMap<String, Object>();
        error.put("code", code.wire());
        error.put("message", message);
        error.put("details", details); // always there, empty when there is nothing to add (the contract's shape)
        return json(code.status(), Map.of("error", error));
    }

    /** A list page in the contract's shape. */
    public static Map<String, Object> page(List<?> items, String nextCursor) {
        var page = new LinkedHashMap<String, Object>();
        page.put("items", items);
        page.put("nextCursor", nextCursor);
        return page;
    }

    public ApiResponse withHeader(String name, String value) {
        var headers = new LinkedHashMap<>(this.headers);
        headers.put(name, value);
        return new ApiResponse(status, headers, body);
    }
}
