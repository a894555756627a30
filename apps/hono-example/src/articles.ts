import {
  type Article,
  type ArticleStore,
  etagOf,
  ownerOf,
  PROBLEM_TYPE,
  parseArticleId,
  UNAUTHORIZED,
  type WriteResult,
} from '@batch/reading-list';
import { type Context, Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { validator } from 'hono/validator';
import { problemResponse } from './problems.js';

/** What the bearer-token middleware leaves for the routes: `c.var.owner`. */
type ArticlesEnv = { Variables: { owner: string } };

/** Ids are positive integers; any other `:id` matches no route (→ 404). */
const ID = '/:id{[1-9][0-9]{0,15}}';

/** Every route here needs `Authorization: Bearer <token>`; the token names the owner. */
const bearerOwner = createMiddleware<ArticlesEnv>(async (c, next) => {
  const owner = ownerOf(c.req.header('Authorization'));
  if (owner === undefined) {
    return c.json(UNAUTHORIZED, 401, {
      'Content-Type': PROBLEM_TYPE,
      'WWW-Authenticate': 'Bearer',
    });
  }
  c.set('owner', owner);
  await next();
});

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * The body of a write. Hono's JSON validator answers malformed JSON with a 400; a body that
 * is not JSON at all reaches the store as `undefined`, which it refuses (400 with `errors`).
 */
const articleBody = validator('json', (value: unknown, c) =>
  JSON_TYPE.test(c.req.header('Content-Type') ?? '') ? value : undefined,
);

const idOf = (c: Context) => Number(c.req.param('id'));

const preconditions = (c: Context) => ({
  ifMatch: c.req.header('If-Match'),
  ifNoneMatch: c.req.header('If-None-Match'),
});

function sendArticle(c: Context, article: Article, status: 200 | 201 = 200): Response {
  if (status === 201) c.header('Location', `/articles/${article.id}`);
  c.header('ETag', etagOf(article));
  return c.json(article, status);
}

/** Answers a store write: the article (`201` + `Location` when created), or its problem. */
function sendWrite(c: Context, result: WriteResult): Response {
  if (!result.ok) return problemResponse(c, result.status, result.detail, result.errors);
  return sendArticle(c, result.article, result.created ? 201 : 200);
}

/** `/articles`: one reading list per bearer token. Mount with `app.route('/articles', …)`. */
export function articlesApp(store: ArticleStore) {
  const articles = new Hono<ArticlesEnv>();
  articles.use(bearerOwner);

  articles.get('/', async (c) => c.json({ data: await store.list(c.var.owner) }));
  articles.post('/', articleBody, async (c) =>
    sendWrite(c, await store.create(c.var.owner, c.req.valid('json'))),
  );

  // A 16-digit id past Number.MAX_SAFE_INTEGER names no article.
  articles.use(ID, async (c, next) => {
    const id = c.req.param('id') ?? '';
    if (parseArticleId(id) === undefined) return problemResponse(c, 404, `article ${id} not found`);
    await next();
  });

  articles.get(ID, async (c) => {
    const article = await store.get(c.var.owner, idOf(c));
    return article === undefined
      ? problemResponse(c, 404, `article ${idOf(c)} not found`)
      : sendArticle(c, article);
  });
  articles.put(ID, articleBody, async (c) =>
    sendWrite(c, await store.replace(c.var.owner, idOf(c), c.req.valid('json'), preconditions(c))),
  );
  articles.patch(ID, articleBody, async (c) =>
    sendWrite(c, await store.patch(c.var.owner, idOf(c), c.req.valid('json'), preconditions(c))),
  );
  articles.delete(ID, async (c) => {
    const result = await store.remove(c.var.owner, idOf(c), preconditions(c));
    return result.ok
      ? c.json(result.article)
      : problemResponse(c, result.status, result.detail, result.errors);
  });

  return articles;
}
