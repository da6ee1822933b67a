-- Listing profiles (workers/listing/store.py). $tenant: NULL = an operator (every organization).

-- name: profile_upsert
INSERT INTO listing_profiles AS p (organization_id, integration_id, shop_id, product_id, profile, source)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (integration_id, product_id, shop_id)
DO UPDATE SET profile = EXCLUDED.profile, source = EXCLUDED.source
WHERE p.organization_id = EXCLUDED.organization_id
RETURNING *;

-- name: profile_get
SELECT * FROM listing_profiles
WHERE integration_id = $1 AND product_id IS NOT DISTINCT FROM $2 AND shop_id IS NOT DISTINCT FROM $3
  AND ($4::uuid IS NULL OR organization_id = $4);

-- name: profile_delete
DELETE FROM listing_profiles
WHERE integration_id = $1 AND product_id IS NOT DISTINCT FROM $2 AND shop_id IS NOT DISTINCT FROM $3
  AND ($4::uuid IS NULL OR organization_id = $4)
RETURNING id;

-- name: profile_list
SELECT * FROM listing_profiles
WHERE integration_id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
  AND ($3::text IS NULL OR product_id = $3) AND ($4::uuid IS NULL OR shop_id = $4)
  AND ($5::uuid IS NULL OR id > $5)
ORDER BY id
LIMIT $6;

-- name: profile_layers
-- The stored layers of the given products in one shop, least specific first per product (the defaults, the shop's
-- defaults; the product's profile, its override for the shop).
SELECT product_id, shop_id, profile FROM listing_profiles
WHERE integration_id = $1 AND (shop_id IS NULL OR shop_id = $2) AND (product_id IS NULL OR product_id = ANY($3))
ORDER BY product_id NULLS FIRST, shop_id NULLS FIRST;

-- name: requirements_cached
SELECT category_id, requirements FROM category_requirements
WHERE shop_id = $1 AND category_id = ANY($2::text[]) AND expires_at > now()::timestamp;

-- name: requirements_store
INSERT INTO category_requirements (shop_id, category_id, organization_id, requirements, expires_at)
VALUES ($1, $2, $3, $4, now()::timestamp + make_interval(secs => $5))
ON CONFLICT (shop_id, category_id)
DO UPDATE SET requirements = EXCLUDED.requirements, fetched_at = now(), expires_at = EXCLUDED.expires_at;

-- name: media_by_url
SELECT source_url, platform_ref FROM listing_media WHERE shop_id = $1 AND source_url = ANY($2::text[]);

-- name: media_by_sha256
SELECT platform_ref FROM listing_media WHERE shop_id = $1 AND sha256 = $2 LIMIT 1;

-- name: media_store
INSERT INTO listing_media (shop_id, source_url, organization_id, sha256, platform_ref, content_type, bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (shop_id, source_url)
DO UPDATE SET sha256 = EXCLUDED.sha256, platform_ref = EXCLUDED.platform_ref, content_type = EXCLUDED.content_type,
              bytes = EXCLUDED.bytes, uploaded_at = now();

-- name: profile_check_shop
-- The shop whose platform answers for a profile's category: the override's own shop, else the integration's oldest
-- active one (none: the check waits for product_sync).
SELECT s.id
FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
WHERE a.integration_id = $1 AND ($2::uuid IS NULL OR s.id = $2) AND s.shop_status = 'active'
ORDER BY s.created_at, s.id
LIMIT 1;
