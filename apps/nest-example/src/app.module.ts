import {
  BadRequestException,
  Body,
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Headers,
  Inject,
  Injectable,
  Module,
  type NestInterceptor,
  Param,
  ParseIntPipe,
  type PipeTransform,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';

/** What the guard saw: each request's own `X-User` (the tests read it). */
export const GUARD_LOG = Symbol('guard log');

/** Lets a request through when it carries `X-User`; records what it saw. */
@Injectable()
export class UserGuard implements CanActivate {
  constructor(@Inject(GUARD_LOG) private readonly log: string[]) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const user = request.headers['x-user'];
    this.log.push(typeof user === 'string' ? user : '-');
    return typeof user === 'string' && user !== '';
  }
}

/** Wraps every answer as `{ data }` and says so in a header. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<{
      header?: (name: string, value: string) => unknown;
      setHeader?: (name: string, value: string) => unknown;
    }>();
    // Express's res.setHeader, Fastify's reply.header.
    if (typeof response.header === 'function') response.header('X-Intercepted', 'yes');
    else response.setHeader?.('X-Intercepted', 'yes');
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

/** The body of `POST /items`: `{ title }`, a non-empty string. */
export class ItemBodyPipe implements PipeTransform<unknown, { title: string }> {
  transform(value: unknown): { title: string } {
    const title = (value as { title?: unknown } | null)?.title;
    if (typeof title !== 'string' || title === '')
      throw new BadRequestException('title must be a non-empty string');
    return { title };
  }
}

@Controller('items')
@UseGuards(UserGuard)
@UseInterceptors(EnvelopeInterceptor)
export class ItemsController {
  @Get(':id')
  get(@Param('id', ParseIntPipe) id: number, @Headers('x-user') user: string) {
    return { id, user };
  }

  @Post()
  create(@Body(new ItemBodyPipe()) body: { title: string }, @Headers('x-user') user: string) {
    return { ...body, user };
  }
}

/** The app: one controller behind a guard, a pipe per parameter, an interceptor. */
@Module({
  controllers: [ItemsController],
  providers: [UserGuard, { provide: GUARD_LOG, useFactory: () => [] }],
})
export class AppModule {}
