package dev.ferry.route;

import java.util.List;

/** Matches HTTP/1.x requests whose method is one of the given ones, compared exactly; decided on the request line. */
public record MethodMatcher(List<String> methods) implements Matcher {

    public MethodMatcher {
        methods = List.copyOf(methods);
    }

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.requestLine()) {
            case HttpRequestHead.NeedMore needMore -> Match.NEED_MORE;
            case HttpRequestHead.NotHttp notHttp -> Match.NO;
            case HttpRequestHead.RequestLine line -> methods.contains(line.method()) ? Match.YES : Match.NO;
        };
    }
}
