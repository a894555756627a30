import {
  type Article,
  type ArticleStore,
  etagOf,
  ownerOf,
  PROBLEM_TYPE,
  type Preconditions,
  parseArticleId,
  UNAUTHORIZED,
  type WriteResult,
} from '@batch/reading-list';
import { Router, type RouterContext } from '@koa/router';
import { sendProblem } from './problems.js';

/** What the middleware below leaves in `ctx.state` for the routes. */
interface ArticleState {
  /** The owner of the reading list: the bearer token. */
  owner: string;
  /** The `:id` of the route, once it is known to be an article id. */
  id: number;
}

type Ctx = RouterContext<ArticleState>;

/**
 * The body as the store should see it: @koa/bodyparser (JSON only) leaves `rawBody` when it
 * parsed one; any other body reaches the store as `undefined`, which it refuses (`400`).
 */
function bodyOf(ctx: Ctx): unknown {
  return ctx.request.rawBody === undefined ? undefined : ctx.request.body;
}

function preconditionsOf(ctx: Ctx): Preconditions {
  return {
    ifMatch: ctx.get('If-Match') || undefined,
    ifNoneMatch: ctx.get('If-None-Match') || undefined,
  };
}

function sendArticle(ctx: Ctx, article: Article, status = 200): void {
  ctx.status = status;
  if (status === 201) ctx.set('Location', `/articles/${article.id}`);
  ctx.set('ETag', etagOf(article));
  ctx.body = article;
}

/** Answers a write: the article (`201` when it was created), or the store's refusal. */
function sendResult(ctx: Ctx, result: WriteResult): void {
  if (result.ok) sendArticle(ctx, result.article, result.created ? 201 : 200);
  else sendProblem(ctx, result.status, result.detail, result.errors);
}

/** `/articles`: each owner's reading list, behind a bearer token. */
export function articlesRouter(store: ArticleStore): Router<ArticleState> {
  const router = new Router<ArticleState>();

  // Every route here needs `Authorization: Bearer <token>`; the token names the owner.
  router.use(async (ctx, next) => {
    const owner = ownerOf(ctx.get('Authorization'));
    if (owner === undefined) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = UNAUTHORIZED;
      ctx.type = PROBLEM_TYPE;
      return;
    }
    ctx.state.owner = owner;
    await next();
  });
  router.param('id', (id, ctx, next) => {
    const articleId = parseArticleId(id);
    if (articleId === undefined) return sendProblem(ctx, 404, `article ${id} not found`);
    ctx.state.id = articleId;
    return next();
  });

  router.get('/articles', async (ctx) => {
    ctx.body = { data: await store.list(ctx.state.owner) };
  });
  router.post('/articles', async (ctx) => {
    sendResult(ctx, await store.create(ctx.state.owner, bodyOf(ctx)));
  });
  router.get('/articles/:id', async (ctx) => {
    const article = await store.get(ctx.state.owner, ctx.state.id);
    if (article === undefined) sendProblem(ctx, 404, `article ${ctx.state.id} not found`);
    else sendArticle(ctx, article);
  });
  router.put('/articles/:id', async (ctx) => {
    const { owner, id } = ctx.state;
    sendResult(ctx, await store.replace(owner, id, bodyOf(ctx), preconditionsOf(ctx)));
  });
  router.patch('/articles/:id', async (ctx) => {
    const { owner, id } = ctx.state;
    sendResult(ctx, await store.patch(owner, id, bodyOf(ctx), preconditionsOf(ctx)));
  });
  router.delete('/articles/:id', async (ctx) => {
    const result = await store.remove(ctx.state.owner, ctx.state.id, preconditionsOf(ctx));
    if (result.ok) ctx.body = result.article;
    else sendProblem(ctx, result.status, result.detail);
  });
  return router;
}
