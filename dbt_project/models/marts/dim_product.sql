{#-
    One row per billing product, with the ERP revenue account its revenue class posts to.

    The revenue account comes from the reference account mapping: the accounting event class
    `recognize_<revenue_class>` when there is one (subscription -> 4000, support -> 4200,
    onboarding -> 4300), otherwise an event class named `<revenue_class>_...` (usage ->
    `usage_accrual` -> 4100, the usage journals tieout posts).  Only classes whose credit
    account is an Income account in the chart of accounts count, so `invoice_usage` (which
    credits unbilled receivable) never does.  No match, or two equally good ones, gives null.
-#}
with

products as (

    select * from {{ ref('stg_billing__products') }}

),

account_mapping as (

    select * from {{ ref('stg_reference__account_mapping') }}

),

chart_of_accounts as (

    select * from {{ ref('stg_reference__chart_of_accounts') }}

),

-- Event classes that credit an income account: the postings that recognise revenue.
revenue_postings as (

    select
        account_mapping.event_class,
        account_mapping.credit_account_number as account_number,
        chart_of_accounts.account_name
    from account_mapping
    inner join chart_of_accounts
        on account_mapping.credit_account_number = chart_of_accounts.account_number
    where lower(chart_of_accounts.account_type) = 'income'

),

candidates as (

    select
        products.product_id,
        revenue_postings.event_class,
        revenue_postings.account_number,
        revenue_postings.account_name,
        case
            when revenue_postings.event_class = 'recognize_' || products.revenue_class then 1
            else 2
        end as match_rank
    from products
    inner join revenue_postings
        on revenue_postings.event_class = 'recognize_' || products.revenue_class
        or substr(revenue_postings.event_class, 1, length(products.revenue_class) + 1)
            = products.revenue_class || '_'

),

ranked as (

    select
        candidates.*,
        min(match_rank) over (partition by product_id) as best_rank,
        count(*) over (partition by product_id, match_rank) as matches_at_rank
    from candidates

),

revenue_accounts as (

    select product_id, event_class, account_number, account_name
    from ranked
    where match_rank = best_rank
        and matches_at_rank = 1

),

final as (

    select
        products.product_id,
        products.product_name,
        products.revenue_class,
        products.recognition_method,
        coalesce(products.recognition_method = 'ratable', false) as is_recurring,
        revenue_accounts.event_class as revenue_event_class,
        revenue_accounts.account_number as revenue_account_number,
        revenue_accounts.account_name as revenue_account_name,
        products.created_at
    from products
    left join revenue_accounts
        on products.product_id = revenue_accounts.product_id

)

select * from final
